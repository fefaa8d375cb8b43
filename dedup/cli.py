"""``dedup`` command line: a thin layer over the library (``dedup.run``, ``dedup.load_config``).

Exit codes, for schedulers: 0 the night was written; 1 the run failed (input mostly garbage,
another run holds the state, an internal error), nothing was changed; 2 bad usage or config.
"""
from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Optional

import typer

from dedup.config import ConfigError, load_config

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: rich markup would eat "[spark]" in pip install 'dedup[spark]' and label flags <bool>.
    rich_markup_mode=None,
    help="Find syndicated copies of wire stories, cluster them, pick a canonical, write Parquet.",
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def version_line() -> str:
    """``dedup X.Y.Z (python A.B.C)``: the installed distribution's version (its metadata, so a
    wheel and an editable checkout both answer), ``unknown`` when dedup runs uninstalled."""
    import platform
    from importlib import metadata

    try:
        v = metadata.version("dedup")
    except metadata.PackageNotFoundError:
        v = "unknown (not installed)"
    return f"dedup {v} (python {platform.python_version()})"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                       help="Print the version of dedup and exit."),
          verbose: bool = typer.Option(False, "--verbose", "-v", help="An internal error prints its traceback "
                                       "(any command: dedup --verbose eval ...).")) -> None:
    """Find syndicated copies of wire stories, cluster them, pick a canonical, write Parquet."""
    # Read by dedup.__main__ from the command line, where a failing command's error is reported.


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and the record's figures as fields
    (``extra={"fields": {...}}``: a stage's seconds and counts, a check's key); a traceback, if
    any, is the ``traceback`` field, never extra lines."""

    def format(self, r: logging.LogRecord) -> str:
        obj = {"time": self.formatTime(r, "%Y-%m-%dT%H:%M:%S%z"), "level": r.levelname, "logger": r.name,
               "message": r.getMessage()}
        for k, v in (getattr(r, "fields", None) or {}).items():
            obj.setdefault(k, v)
        if r.exc_info:
            obj["traceback"] = self.formatException(r.exc_info)
        return json.dumps(obj, default=str, ensure_ascii=False)


#: "json" once ``dedup run --log-format json`` set up logging: ``_fail`` then writes JSON too.
_LOG_FORMAT = "text"


def _setup_logging(quiet: bool, verbose: bool, log_format: str) -> None:
    global _LOG_FORMAT
    from dedup.night import figures

    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = _StderrHandler()
    _LOG_FORMAT = log_format
    figures.PROGRESS_BARS = log_format != "json"  # a bar's redraws are not JSON lines
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
        # Other libraries' log records and Python warnings go through the same formatter.
        logging.captureWarnings(True)
        other = logging.getLogger()
        other.handlers[:] = [handler]
        other.setLevel(logging.WARNING)
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
    root = logging.getLogger("dedup")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _fail(msg: str, code: int) -> None:
    """The one error line (``dedup: error: ...``) on stderr and the exit code; a JSON object
    (``error``, ``exit_code`` fields) under ``--log-format json``."""
    if _LOG_FORMAT == "json":
        from dedup._startup import json_log_line

        typer.echo(json_log_line("ERROR", f"dedup: error: {msg}", error=msg, exit_code=code), err=True)
    else:
        typer.echo(f"dedup: error: {msg}", err=True)
    raise typer.Exit(code)


@app.command()
def run(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config file (see README, Configuration)."),
    input: Optional[str] = typer.Option(None, "--input", "-i", help="Override input.path: a file, directory or glob "
                                        "(a local path, a file:// URL, or an s3:// gs:// abfs:// URL: local engine)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Override output.path: the output root folder "
                                         "(a local path or file:// URL; an s3:// URL with --format delta)."),
    output_format: Optional[str] = typer.Option(None, "--format", help="Override output.format: parquet (hive "
                                                "folders, committed by renames) or delta (Delta Lake tables; needed "
                                                "on s3://)."),
    run_date: Optional[str] = typer.Option(None, "--run-date", help="Night to write, YYYY-MM-DD (default: yesterday, UTC, "
                                          "as jobs/dedup-nightly.sh)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Override run.workers: threads of the one dedup "
                                         "process (reading, cleaning, fingerprinting, verification)."),
    allow_future: bool = typer.Option(False, "--allow-future", help="Accept a --run-date after tomorrow "
                                      "(run.allow_future)."),
    allow_same_input: bool = typer.Option(False, "--allow-same-input", help="Write the night even when an input "
                                          "file's sha256 equals one of another night's inputs "
                                          "(input.same_input: allow)."),
    engine: Optional[str] = typer.Option(None, "--engine", help="Override run.engine: local or spark "
                                         "(spark needs pip install 'dedup[spark]')."),
    spark_master: Optional[str] = typer.Option(None, "--spark-master", help="Override spark.master, e.g. local[2] "
                                               "(under spark-submit, leave it to --master there)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
    log_format: str = typer.Option("text", "--log-format", help="text (timestamped lines) or json (one object a line)."),
) -> None:
    """Run the job for one night and write stories/, clusters/, rejects/ and runs/ under the output folder."""
    from dedup.errors import InputError, RunFailed
    from dedup.night.run import run as run_job

    if log_format not in ("text", "json"):
        _fail("--log-format must be 'text' or 'json'", EXIT_USAGE)
    _setup_logging(quiet, verbose, log_format)
    if config is None and input is None:
        _fail("give --config FILE or at least --input and --output", EXIT_USAGE)
    try:
        overrides = {k: v for k, v in (("run.workers", workers), ("run.engine", engine),
                                       ("spark.master", spark_master), ("run.allow_future", allow_future or None),
                                       ("input.same_input", "allow" if allow_same_input else None),
                                       ("output.format", output_format))
                     if v is not None}
        settings = load_config(config, input=input, output=output, run_date=run_date, overrides=overrides)
        result = run_job(settings)
    except (ConfigError, InputError) as e:
        _fail(str(e), EXIT_USAGE)
    except RunFailed as e:
        _fail(str(e), EXIT_FAILED)
    except Exception as e:  # noqa: BLE001 - an internal error: exit 1, full traceback with --verbose
        logging.getLogger("dedup").debug("internal error", exc_info=True)
        _fail(f"internal error: {type(e).__name__}: {e} (rerun with --verbose for the traceback)", EXIT_FAILED)
    c = result.counts
    typer.echo(
        f"{result.run_date}: {c['read']} records, {c['accepted']} stories in {c['clusters']} clusters "
        f"({c['duplicates']} duplicates), {c['rejected']} rejected -> {result.output}"
    )


@app.command()
def synth(
    n: int = typer.Option(10_000, "--n", help="Stories to generate."),
    out: Path = typer.Option(..., "--out", help="Folder for batch.jsonl, batch-clean.jsonl, gold.csv and gold-lines.parquet."),
    source: Optional[Path] = typer.Option(None, "--source", help="Reuters-21578 .sgm folder (default: "
                                          "../shared/corpora/reuters21578 beside the checkout)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same corpus)."),
    realistic: bool = typer.Option(False, "--realistic", help="Outlets behave as real ones: every behaviour below."),
    behaviours: str = typer.Option("", "--behaviours", help="Comma list of: versions, aggregator, no_outlet, "
                                   "consent_wall, link_lists, live_blogs, scraped_twice."),
    languages: bool = typer.Option(False, "--languages", help="Also copies of reports in Chinese, Japanese, Thai, "
                                   "Arabic, Hindi, Russian, French, Spanish and German (languages.csv says which)."),
) -> None:
    """Build a labeled syndication corpus from Reuters-21578 wire reports (from a checkout: the
    builder is test data tooling in bench/synth/corpus.py, not part of the installed job)."""
    corpus = _corpus_builder()
    source = source if source is not None else corpus.DEFAULT_SOURCE
    if not source.is_dir():
        _fail(f"--source folder not found: {source}: give --source a folder of the Reuters-21578 reut2-*.sgm "
              "files (the UCI KDD archive's reuters21578.tar.gz, unpacked)", EXIT_USAGE)
    try:
        chosen = corpus.parse_behaviours(behaviours, realistic)
    except ValueError as e:
        _fail(str(e), EXIT_USAGE)
    stats = corpus.build_corpus(source, n, out, seed=seed, behaviours=chosen, languages=languages)
    typer.echo(json.dumps(stats, indent=2, default=str))


def _corpus_builder():
    """The checkout's bench/synth/corpus.py as a module, or a one-line usage error."""
    import importlib.util

    root = Path(__file__).resolve().parents[1]
    path = root / "bench" / "synth" / "corpus.py"
    if not path.is_file():
        _fail("dedup synth runs from a checkout of the repository (bench/synth/corpus.py); "
              "this installation has no bench/ folder", EXIT_USAGE)
    if str(root) not in sys.path:  # the builder imports its sibling modules (bench.synth.languages)
        sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location("dedup_bench_corpus", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@app.command("eval")
def eval_cmd(
    stories: str = typer.Option(..., "--stories", help="The stories dataset (e.g. out/stories), one Parquet file, or "
                                "a Delta stories table (a folder, or s3://bucket/out/stories)."),
    gold: Path = typer.Option(..., "--gold", help="CSV (or Parquet) of gold clusters: story_id,gold_cluster, or "
                              "common other names (id, gold, cluster, label...), or --gold-columns."),
    gold_columns: Optional[str] = typer.Option(None, "--gold-columns", help="The gold file's story id and cluster "
                                               "columns, as ID,CLUSTER."),
    run_date: Optional[str] = typer.Option(None, "--run-date", help="Only this night of the stories dataset."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    examples: int = typer.Option(10, "--examples", help="Wrong pairs to show of each kind."),
    batch: Optional[Path] = typer.Option(None, "--batch", help="The JSONL batch the run read: adds chrome line "
                                         "precision/recall, text-loss and lost copies."),
    rejects: Optional[Path] = typer.Option(None, "--rejects", help="The run's rejects (default: rejects/ beside "
                                           "--stories)."),
    gold_lines: Optional[Path] = typer.Option(None, "--gold-lines", help="Per-line gold (default: "
                                              "gold-lines.parquet beside --gold)."),
    id_column: str = typer.Option("story_id", "--id-column", help="Story id column of --stories (another tool's output)."),
    cluster_column: str = typer.Option("cluster_id", "--cluster-column", help="Cluster column of --stories."),
    languages: Optional[Path] = typer.Option(None, "--languages", help="The corpus builder's languages.csv "
                                             "(dedup synth --languages): adds recall, truncated copies found and "
                                             "precision per language."),
) -> None:
    """Pairwise precision, recall, F1 and adjusted Rand index against gold clusters, with the wrong pairs."""

    from dedup.tools.evaluate import evaluate, read_gold, read_stories

    from dedup.night.remote import is_store

    if is_store(stories):
        if batch is not None:
            _fail("--batch needs a local --stories (its rejects are read beside it)", EXIT_USAGE)
    elif not Path(stories).exists():
        _fail(f"--stories not found: {stories}", EXIT_USAGE)
    if not gold.is_file():
        _fail(f"--gold file not found: {gold}", EXIT_USAGE)
    try:
        pred = read_stories(stories, run_date=run_date, id_column=id_column, cluster_column=cluster_column,
                            body_column="body_clean")
    except ValueError as e:
        _fail(str(e), EXIT_USAGE)
    try:
        g = read_gold(gold, gold_columns)
        bodies = pred.set_index("story_id")["body_clean"] if "body_clean" in pred.columns else None
        res = evaluate(pred[["story_id", "cluster_id"]], g, bodies=bodies, max_examples=examples)
    except ValueError as e:
        _fail(str(e).splitlines()[0], EXIT_USAGE)
    if batch is not None:
        from dedup.tools.evaluate import line_figures

        if not batch.is_file():
            _fail(f"--batch file not found: {batch}", EXIT_USAGE)
        if bodies is None:
            _fail("--batch needs the stories' body_clean column", EXIT_USAGE)
        res.lines = line_figures(batch, pred[["story_id", "body_clean"]], stories, g, gold, rejects_path=rejects,
                                 gold_lines_path=gold_lines, run_date=run_date, max_examples=examples)
    if languages is not None:
        import pandas as pd

        from dedup.tools.evaluate import by_language

        if not languages.is_file():
            _fail(f"--languages file not found: {languages}", EXIT_USAGE)
        res.languages = by_language(pred[["story_id", "cluster_id"]], g,
                                    pd.read_csv(languages, dtype=str, keep_default_na=False))
    typer.echo(json.dumps(res.to_dict(), indent=2, default=str) if as_json else res.to_text())


# --- explain / show / report commands (issue 6) ---


# The tools (explain, show, report) find a written night the same way.
TOOL_OUTPUT = typer.Option(None, "--output", "-o", help="The run's output folder, or its s3:// URL (Delta tables) "
                           "(default: output.path of --config, else ./out).")
TOOL_CONFIG = typer.Option(None, "--config", "-c", help="The run's YAML config: its output.path is the output folder "
                           "unless --output is given.")


def _output_root(output: Optional[str], config: Optional[Path]) -> str:
    """The output a tool reads: --output (a local path, a file:// URL or an s3:// URL; other URLs
    exit 2), else output.path of --config, else ./out."""
    from dedup.config import store_path

    if output is None:
        if config is None:
            return "out"
        try:
            return load_config(config).output.path
        except ConfigError as e:
            _fail(str(e), EXIT_USAGE)
    try:
        return store_path(str(output))
    except ValueError as e:
        _fail(f"--output: {e}", EXIT_USAGE)


@contextlib.contextmanager
def _tool_root(output: Optional[str], config: Optional[Path]):
    """``_output_root`` as a local folder the tools read: the folder itself, or for an output on
    object storage a local view of it (``dedup.night.remote.output_view``: manifests copied, Delta
    tables read in place). Yields (folder, the bucket URL or None)."""
    from dedup.errors import NotFound
    from dedup.night.remote import is_store, output_view

    root = _output_root(output, config)
    if not is_store(root):
        yield Path(root), None
        return
    with contextlib.ExitStack() as stack:
        try:
            folder = stack.enter_context(output_view(root))
        except NotFound as err:
            _fail(str(err), EXIT_USAGE)
        except Exception as err:  # noqa: BLE001 - the store's own errors (credentials, access, network)
            _fail(f"--output {root} cannot be read: {type(err).__name__}: {' '.join(str(err).split())[:300]}",
                  EXIT_FAILED)
        yield folder, root


def _want_color(color: Optional[bool]) -> bool:
    return sys.stdout.isatty() if color is None else color


@app.command("explain")
def explain_cmd(
    story_a: str = typer.Argument(..., help="First story id."),
    story_b: str = typer.Argument(..., help="Second story id."),
    output: Optional[str] = TOOL_OUTPUT,
    config: Optional[Path] = TOOL_CONFIG,
    run_date: Optional[str] = typer.Option(None, "--run-date", help="Night, YYYY-MM-DD (default: the latest night holding both)."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures, the verdict and the reasons as JSON."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Also write the texts side by side as an HTML page here."),
    width: Optional[int] = typer.Option(None, "--width", help="Columns for the side-by-side texts (default: the terminal's)."),
    color: Optional[bool] = typer.Option(None, "--color/--no-color", help="Shared passages in colour, not [[ ]] (default: on a terminal)."),
) -> None:
    """Why two stories are, or are not, in one cluster: texts side by side, figures, LSH and the rules."""
    from dedup.errors import NotFound
    from dedup.tools.explain import explain, render_html, render_text, terminal_width

    with _tool_root(output, config) as (root, _):
        try:
            e = explain(root, story_a, story_b, run_date)
        except NotFound as err:
            _fail(str(err), EXIT_USAGE)
    if html_out is not None:
        html_out.parent.mkdir(parents=True, exist_ok=True)
        html_out.write_text(render_html(e), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(e.to_dict(), indent=2, default=str, ensure_ascii=False))
    else:
        want = _want_color(color)
        typer.echo(render_text(e, width=width or terminal_width(), color=want), nl=False, color=want)


@app.command("show")
def show_cmd(
    cluster_id: Optional[str] = typer.Argument(None, help="Cluster id (c + 16 hex digits)."),
    story: Optional[str] = typer.Option(None, "--story", help="Show the cluster of this story instead."),
    output: Optional[str] = TOOL_OUTPUT,
    config: Optional[Path] = TOOL_CONFIG,
    run_date: Optional[str] = typer.Option(None, "--run-date", help="Night, YYYY-MM-DD (default: the latest night holding it)."),
    as_json: bool = typer.Option(False, "--json", help="Print the cluster and its members as JSON."),
    width: Optional[int] = typer.Option(None, "--width", help="Line width (default: the terminal's)."),
) -> None:
    """A cluster: its canonical, every member with outlet, time, relation and similarity, headline variants."""
    from dedup.errors import NotFound
    from dedup.tools.explain import render_cluster, show, terminal_width

    with _tool_root(output, config) as (root, _):
        try:
            v = show(root, cluster_id, story_id=story, run_date=run_date)
        except NotFound as err:
            _fail(str(err), EXIT_USAGE)
    if as_json:
        typer.echo(json.dumps(v.to_dict(), indent=2, default=str, ensure_ascii=False))
    else:
        typer.echo(render_cluster(v, width=width or terminal_width()), nl=False)


@app.command("report")
def report_cmd(
    output: Optional[str] = TOOL_OUTPUT,
    config: Optional[Path] = TOOL_CONFIG,
    run_date: Optional[str] = typer.Option(None, "--run-date", help="Night, YYYY-MM-DD (default: the latest night)."),
) -> None:
    """(Re)build runs/run_date=NIGHT/report.html, the night's run report, from its tables and manifest."""
    from dedup.errors import NotFound
    from dedup.tools.report import report_for_night

    with _tool_root(output, config) as (root, url):
        try:
            path = report_for_night(root, run_date)
            if url is not None:  # the view is temporary: the report goes beside the night's manifest
                from dedup.night.remote import put_run_file

                path = put_run_file(path, url, path.parent.name.split("=", 1)[1])
        except NotFound as err:
            _fail(str(err), EXIT_USAGE)
        except Exception as err:  # noqa: BLE001 - unreadable tables: exit 1
            logging.getLogger("dedup").debug("report failed", exc_info=True)
            _fail(f"could not build the report: {type(err).__name__}: {err}", EXIT_FAILED)
    typer.echo(str(path))


@app.command("vacuum")
def vacuum_cmd(
    output: Optional[str] = TOOL_OUTPUT,
    config: Optional[Path] = TOOL_CONFIG,
    retention_hours: Optional[int] = typer.Option(None, "--retention-hours", min=0, help="Delete files unreferenced "
                                                  "for longer than this (default: output.vacuum_retention_hours of "
                                                  "--config, else each table's own retention, Delta's 168 h)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be deleted."),
) -> None:
    """Delete the Delta tables' files that nights' replacements left unreferenced (output.format: delta)."""
    from dedup.night.remote import is_store, vacuum

    root = _output_root(output, config)
    if retention_hours is None and config is not None:
        try:
            retention_hours = load_config(config).output.vacuum_retention_hours
        except ConfigError as e:
            _fail(str(e), EXIT_USAGE)
    if not is_store(root) and not any((Path(root) / t / "_delta_log").is_dir() for t in ("stories", "clusters",
                                                                                            "rejects")):
        _fail(f"no Delta table under {root} (vacuum is for output.format: delta; parquet nights leave no old "
              "files)", EXIT_USAGE)
    try:
        removed = vacuum(root, retention_hours, dry_run=dry_run)
    except Exception as err:  # noqa: BLE001 - the store's or the log's errors: exit 1
        logging.getLogger("dedup").debug("vacuum failed", exc_info=True)
        _fail(f"vacuum failed: {type(err).__name__}: {' '.join(str(err).split())[:300]}", EXIT_FAILED)
    if not removed:
        _fail(f"no Delta table under {root}", EXIT_USAGE)
    verb = "would remove" if dry_run else "removed"
    for t, files in removed.items():
        typer.echo(f"{t}: {verb} {len(files)} unreferenced file(s)")


if __name__ == "__main__":  # pragma: no cover
    app()
