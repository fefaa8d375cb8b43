"""The documented set-up, for real: an unprivileged service user runs the nightly job from a
root-owned, read-only install (issue 17, item 1).

The install is built as docs/operations.md says, under a temporary root instead of ``/``:
``<root>/opt/dedup`` is a root-owned copy of the checkout with its ``.venv``, made read-only;
dedup is installed into that venv from a wheel built from the copy (a non-editable install: the
package sits in a site-packages the user cannot write, as in a container image). The venv's base
interpreter must be one the user can execute (pyenv's under /root is not; Debian's
/usr/bin/python3.X is); its dependencies come from this test run's own site-packages through a
``.pth`` line instead of a second download. Then the systemd unit's ``ExecStart`` and the cron
line's command run as that user, with the environment each scheduler gives, and must write the
night.

Root only (creating a user, switching to it); skipped elsewhere. One cold numba compile (~30 s).
The cache location itself is tested first, in-process, anywhere.
"""
from __future__ import annotations

import importlib.util
import os
import pwd
import re
import shutil
import site
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT

USER = "dedup-rotest"
JOBS = ROOT / "jobs"
# The absolute paths the shipped units, cron line and docs use; each lives under the test's root.
SYSTEM_PATHS = ("/opt/dedup", "/etc/dedup", "/var/log/dedup", "/var/cache", "/data/dedup")
COPY = ("dedup", "jobs", "configs", "data", "pyproject.toml", "README.md", "Makefile")

needs_root = pytest.mark.skipif(
    os.name != "posix" or os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("setpriv"),
    reason="needs root, useradd and setpriv (to run the job as another user)",
)


def test_numba_cache_location_order(tmp_path, monkeypatch):
    from dedup._startup import choose_numba_cache_dir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    unwritable = "/dev/null/home"  # not a folder, for root too
    assert choose_numba_cache_dir({"NUMBA_CACHE_DIR": "/mine", "HOME": str(tmp_path)}) == (None, "NUMBA_CACHE_DIR")
    env = {"CACHE_DIRECTORY": f"{tmp_path}/sd:{tmp_path}/other", "XDG_CACHE_HOME": f"{tmp_path}/xdg",
           "HOME": str(tmp_path / "home")}
    assert choose_numba_cache_dir(env) == (f"{tmp_path}/sd/numba", "CACHE_DIRECTORY")
    del env["CACHE_DIRECTORY"]
    assert choose_numba_cache_dir(env) == (f"{tmp_path}/xdg/dedup/numba", "XDG_CACHE_HOME")
    env["XDG_CACHE_HOME"] = "relative/xdg"  # the XDG spec says to ignore a relative one
    assert choose_numba_cache_dir(env) == (f"{tmp_path}/home/.cache/dedup/numba", "HOME")
    assert os.path.isdir(f"{tmp_path}/home/.cache/dedup/numba") and not os.path.exists("relative")
    shared = tmp_path / "tmp" / f"dedup-{os.getuid()}"
    assert choose_numba_cache_dir({"HOME": unwritable}) == (f"{shared}/numba", "temp")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700
    shared.chmod(0o777)  # as if someone else had made it: cached pickles there are not to be trusted
    path, source = choose_numba_cache_dir({"HOME": unwritable})
    assert source == "temp-private" and Path(path).parent == tmp_path / "tmp" and Path(path).name != shared.name


def test_an_import_failure_is_one_line_and_exit_1(tmp_path):
    code = ("import sys; sys.modules['pyarrow'] = None; sys.argv = ['dedup', 'run', '--input', 'x', '--output', 'y'];"
            "from dedup.__main__ import main; main()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("dedup: error: cannot start: ModuleNotFoundError:") and r.stderr.count("\n") == 1
    assert not (tmp_path / "y").exists()


def _as_user(pw, cmd, env, cwd=None, timeout=300):
    # Through env: setpriv itself still execs with root's capabilities (it can run a program under
    # /root that the user cannot), so the user's own exec has to be the one that finds the program.
    return subprocess.run(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", "--",
                           "/usr/bin/env", *cmd], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _user_python(pw) -> str:
    """An interpreter of this test's Python version that the user can execute, or skip."""
    want = f"{sys.version_info[0]}.{sys.version_info[1]}"
    cands = [os.path.realpath(getattr(sys, "_base_executable", sys.executable)), os.path.realpath(sys.executable)]
    cands += [p for p in (shutil.which(f"python{want}", path=d) for d in ("/usr/local/bin", "/usr/bin")) if p]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/"}
    for exe in dict.fromkeys(cands):
        r = _as_user(pw, [exe, "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"], env, cwd="/")
        if r.returncode == 0 and r.stdout.strip() == want:
            return exe
    pytest.skip(f"no Python {want} that user {USER} can execute (tried {', '.join(dict.fromkeys(cands))})")


def _unit(name: str) -> dict[str, list[str]]:
    """The unit file's [Service] (or other) keys, each with all its values in order."""
    keys: dict[str, list[str]] = {}
    for ln in (JOBS / name).read_text().splitlines():
        ln = ln.strip()
        if ln and not ln.startswith(("#", "[")):
            k, _, v = ln.partition("=")
            keys.setdefault(k, []).append(v)
    return keys


def _snapshot(top: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(top)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in top.rglob("*") if not p.is_symlink()}


@pytest.fixture(scope="module")
def install():
    """(root, passwd entry, here()) with the read-only install under root; removes what it made."""
    created = subprocess.run(["getent", "passwd", USER], capture_output=True).returncode != 0
    if created:
        r = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                            "--shell", "/usr/sbin/nologin", USER], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"useradd failed: {r.stderr.strip()}")
    pw = pwd.getpwnam(USER)
    root = Path(tempfile.mkdtemp(prefix="dedup-ro-"))  # not tmp_path: pytest's is private to root
    root.chmod(0o755)

    def here(s: str) -> str:
        for p in SYSTEM_PATHS:
            s = s.replace(p, f"{root}{p}")
        return s

    try:
        py = _user_python(pw)
        opt = Path(here("/opt/dedup"))
        opt.mkdir(parents=True)
        for name in COPY:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, opt / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "out"))
            else:
                shutil.copy2(src, opt / name)
        dist = root / "dist"
        r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(opt)],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:  # pip fetches the build backend (setuptools) into an isolated build env
            pytest.skip(f"cannot build the wheel (no network for the build backend?): {r.stderr.strip()[-300:]}")
        shutil.rmtree(opt / "build", ignore_errors=True)
        subprocess.run([py, "-m", "venv", "--without-pip", str(opt / ".venv")], check=True, timeout=120)
        venv_py = opt / ".venv" / "bin" / "python"
        subprocess.run([sys.executable, "-m", "pip", "--python", str(venv_py), "install", "-q", "--no-deps",
                        "--no-index", *map(str, dist.glob("dedup-*.whl"))], check=True, timeout=300)
        target = Path(subprocess.run([str(venv_py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                     capture_output=True, text=True, check=True).stdout.strip())
        deps = [p for p in site.getsitepackages() if Path(p, "numba").is_dir()]
        numba_init = importlib.util.find_spec("numba").origin
        if _as_user(pw, ["test", "-r", numba_init], {"PATH": "/usr/bin:/bin"}, cwd="/").returncode != 0:
            # This run's .venv sits in a private folder (a checkout under /root): hard links to its
            # files (same permissions, no copy of the data) in a place the user can reach.
            linked = []
            for i, d in enumerate(deps):
                dest = root / "deps" / str(i)
                dest.parent.mkdir(exist_ok=True)
                if subprocess.run(["cp", "-al", d, str(dest)], capture_output=True).returncode != 0:
                    pytest.skip(f"user {USER} cannot read this run's site-packages ({d}) and it cannot be "
                                "hard-linked elsewhere (another file system)")
                linked.append(str(dest))
            deps = linked
        (target / "zz_dedup_test_deps.pth").write_text("".join(f"{p}\n" for p in deps))

        etc = Path(here("/etc/dedup"))
        etc.mkdir(parents=True)
        (etc / "prod.yaml").write_text(
            f"input:\n  path: {opt}/data/demo/batch.jsonl\noutput:\n  path: {here('/data/dedup')}\n")
        for d in ("/var/log/dedup", "/var/cache/dedup", "/data/dedup"):  # what the set-up makes for the user
            Path(here(d)).mkdir(parents=True)
            os.chown(here(d), pw.pw_uid, pw.pw_gid)
        tmp = root / "tmp"  # the private /tmp systemd gives the unit (PrivateTmp=yes); cron's /tmp here
        tmp.mkdir(mode=0o1777)
        tmp.chmod(0o1777)
        for p in [opt, *opt.rglob("*")]:  # read-only: root-owned and no write bit for anyone
            if not p.is_symlink():
                p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        yield root, pw, here
    finally:
        for p in [root, *root.rglob("*")]:
            if p.is_dir() and not p.is_symlink():
                p.chmod(p.stat().st_mode | stat.S_IWUSR)
        shutil.rmtree(root, ignore_errors=True)
        if created:
            subprocess.run(["userdel", USER], capture_output=True)


def _check_night(root, here, stdout: str) -> str:
    m = re.fullmatch(r"dedup-nightly: night (\d{4}-\d\d-\d\d) written \(log: (\S+)\)\n", stdout)
    assert m, stdout
    night = m.group(1)
    out = Path(here("/data/dedup"))
    stories = pq.read_table(out / "stories" / f"run_date={night}")
    rejects = pq.read_table(out / "rejects" / f"run_date={night}")
    records = [ln for ln in Path(here("/opt/dedup/data/demo/batch.jsonl")).read_text().splitlines() if ln.strip()]
    assert stories.num_rows > 0 and stories.num_rows + rejects.num_rows == len(records)
    assert len(set(stories.column("story_id").to_pylist())) == stories.num_rows
    assert (out / "runs" / f"run_date={night}" / "manifest.json").is_file()
    assert "exit 0 after" in Path(m.group(2)).read_text()
    return night


@needs_root
def test_systemd_unit_runs_the_night_as_the_service_user_from_a_readonly_wheel_install(install):
    root, pw, here = install
    opt = Path(here("/opt/dedup"))
    before = _snapshot(opt)
    svc = _unit("dedup.service")
    assert svc["User"] == ["dedup"] and svc["CacheDirectory"] == ["dedup"]
    # The environment systemd gives a User= service: the user's passwd entry (home /opt/dedup, as
    # the set-up's useradd makes it), Environment= lines, and CACHE_DIRECTORY for CacheDirectory=.
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "HOME": str(opt), "USER": "dedup",
           "LOGNAME": "dedup", "SHELL": "/usr/sbin/nologin", "TMPDIR": str(root / "tmp"),
           "CACHE_DIRECTORY": here("/var/cache/dedup")}
    env.update(here(v).split("=", 1) for v in svc.get("Environment", []))
    cmd = here(svc["ExecStart"][0]).split()
    r = _as_user(pw, cmd, env, cwd=here(svc["WorkingDirectory"][0]))
    assert r.returncode == 0, r.stdout + r.stderr
    _check_night(root, here, r.stdout)
    # numba's compiled code went to systemd's cache folder, owned by the user; nothing into the install
    assert list(Path(here("/var/cache/dedup/numba")).rglob("*.nbi"))
    assert _snapshot(opt) == before
    # and the user ran the wheel's dedup, not this checkout's
    r = _as_user(pw, [str(opt / ".venv/bin/python"), "-c", "import dedup; print(dedup.__file__)"], env, cwd="/")
    assert r.stdout.startswith(str(opt / ".venv/lib/")), r.stdout + r.stderr


@needs_root
def test_cron_line_runs_the_night_with_a_temp_cache_when_home_is_readonly(install):
    """Cron gives no cache folder and the user's home (/opt/dedup) is read-only: dedup falls back
    to a private folder in the temp folder. Seeded from the unit's run (same install, same cache
    keys) so the test does not compile everything a second time; the location is what is tested."""
    root, pw, here = install
    text = (JOBS / "crontab").read_text()
    job = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#") and "=" not in ln.split()[0]]
    fields = job[0].split(None, 6)
    assert fields[5] == "dedup"
    env = dict(ln.split("=", 1) for ln in text.splitlines() if re.match(r"^[A-Z_]+=", ln))
    # cron's own variables from the passwd entry; DEDUP_LOG_DIR because the set-up's /var/log/dedup is elsewhere here
    env.update({"HOME": here("/opt/dedup"), "LOGNAME": "dedup", "TMPDIR": str(root / "tmp"),
                "DEDUP_LOG_DIR": here("/var/log/dedup")})
    fallback = root / "tmp" / f"dedup-{pw.pw_uid}"
    seed = Path(here("/var/cache/dedup/numba"))
    if seed.is_dir():
        fallback.mkdir(mode=0o700)
        shutil.copytree(seed, fallback / "numba")
        for p in [fallback, *fallback.rglob("*")]:
            os.chown(p, pw.pw_uid, pw.pw_gid)
    out = Path(here("/data/dedup"))
    shutil.rmtree(out / "stories", ignore_errors=True)
    r = _as_user(pw, [env["SHELL"], "-c", here(fields[6]).replace(">/dev/null", "")], env, cwd=here("/opt/dedup"))
    assert r.returncode == 0 and r.stderr == "", r.stdout + r.stderr
    _check_night(root, here, r.stdout)
    st = fallback.stat()
    assert st.st_uid == pw.pw_uid and stat.S_IMODE(st.st_mode) == 0o700
    assert list((fallback / "numba").rglob("*.nbi"))


@needs_root
def test_a_startup_failure_is_one_line_and_exit_1(install):
    """numba cannot cache anywhere (the user's own NUMBA_CACHE_DIR unwritable, home read-only):
    the import fails, and the console script says so in one line instead of a traceback."""
    root, pw, here = install
    opt = Path(here("/opt/dedup"))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(opt), "NUMBA_CACHE_DIR": str(opt / "nope")}
    out = root / "nothing"
    r = _as_user(pw, [str(opt / ".venv/bin/dedup"), "run", "--config", here("/etc/dedup/prod.yaml"), "--output",
                      str(out), "--run-date", "2026-11-26"], env, cwd="/")
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dedup: error: cannot start: RuntimeError: cannot cache function")
    assert "NUMBA_CACHE_DIR" in lines[0] and not out.exists()
