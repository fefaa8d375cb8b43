"""Answers for analysts, from a night already written: ``dedup explain A B`` and ``dedup show``.

``explain`` puts two stories side by side and says why they are, or are not, in one cluster. It
re-derives every figure the run used from what the night wrote (``body_clean`` and the settings in
the night's manifest), with the pipeline's own code:

- fingerprint text (``dedup.stages.text.normalize``), shingles and MinHash (``dedup.stages.fingerprint``): exact
  Jaccard and containment from the shingle sets, the MinHash estimate as the share of equal
  signature positions;
- LSH candidacy (``dedup.stages.candidates``): the (bands, rows) of the night, and which bands agree;
  exact-text and, for short stories, same-headline keys pair stories too;
- the match rules of ``dedup.stages.verify.score_pairs`` (thresholds, the short-story rule), run on the
  pair itself;
- star clustering (``dedup.stages.cluster``): a story joins only a canonical it matches itself (the one it
  matches best), or, when left alone, the cluster of a member it matches (the rescue pass).

``show`` prints a cluster (or the cluster of a story): the canonical, every member with its
outlet, time, relation and similarity, and the headline variants.

Both read only one night's partitions of ``stories/`` (and ``clusters/`` for ``show``) and its
``runs/.../manifest.json``.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup import layout
from dedup.config import ChromeSettings, DedupSettings, StateSettings
from dedup.errors import NotFound
from dedup.tools.headline import LEDE_MARK, shown_headline

STORY_COLUMNS = [
    "story_id", "outlet", "url", "headline", "published_at", "cluster_id", "is_canonical", "similarity",
    "body_clean", "containment", "relation", "agency", "dateline", "canonical_story_id", "words",
    "chrome_lines_removed", "was_html", "source", "record",
]


list_nights = layout.list_nights


def load_manifest(output_root: Path, night: str) -> dict:
    p = layout.manifest_path(output_root, night)
    if not p.is_file():
        return {}
    return json.loads(p.read_text(encoding="utf-8"))


def _check_root(output_root: Path) -> None:
    if not (Path(output_root) / "stories").is_dir():
        raise NotFound(f"no stories/ under {output_root}: give the run's output folder with --output")


def _night_with(output_root: Path, story_id: str, run_date: str | None) -> str:
    """The night holding story_id: run_date if given (checked), else the latest night that has it."""
    nights = [run_date] if run_date else list(reversed(list_nights(output_root)))
    for night in nights:
        ids = layout.read_partition(output_root, "stories", night, columns=["story_id"]).column("story_id")
        if pc.any(pc.equal(ids, story_id)).as_py():
            return night
    rejected = find_reject(output_root, story_id, run_date)
    if rejected is not None:
        raise NotFound(rejected)
    where = f"night {run_date}" if run_date else f"any night under {output_root}"
    raise NotFound(f"story {story_id!r} is not in {where}")


def find_reject(output_root: Path, story_id: str, run_date: str | None = None) -> str | None:
    """Why a story id was rejected, in one line, from the latest night (or ``run_date``) whose
    ``rejects`` table holds it; None when no night rejected it.

    The line reads "story 'ID' was rejected on night YYYY-MM-DD: REASON (FILE:RECORD)"."""
    nights = [run_date] if run_date else list(reversed(list_nights(output_root, "rejects")))
    for night in nights:
        if not layout.has_partition(output_root, "rejects", night):
            continue
        t = layout.read_partition(output_root, "rejects", night, columns=["source", "record", "story_id", "reason"],
                                  filters=[("story_id", "=", story_id)])
        if t.num_rows:
            r = t.slice(0, 1).to_pylist()[0]
            reason = " ".join(str(r["reason"] or "no reason recorded").split())
            where = f" ({Path(r['source']).name}:{r['record']})" if r.get("source") else ""
            more = f"; {t.num_rows - 1} more record(s) with this id rejected that night" if t.num_rows > 1 else ""
            return f"story {story_id!r} was rejected on night {night}: {reason}{where}{more}"
    return None


def read_stories(output_root: Path, night: str, story_ids: list[str]) -> dict[str, dict]:
    """Rows of the given stories of one night, by story id."""
    t = layout.read_partition(output_root, "stories", night, filters=[("story_id", "in", list(story_ids))])
    cols = [c for c in STORY_COLUMNS if c in t.column_names]
    out = {}
    for row in t.select(cols).to_pylist():
        row["night"] = night
        out[row["story_id"]] = row
    return out


def find_story(output_root: Path, story_id: str, up_to: str | None = None) -> dict | None:
    """The row of a story from the latest night holding it, at or before ``up_to``."""
    for night in reversed(list_nights(output_root)):
        if up_to is not None and night > up_to:
            continue
        got = read_stories(output_root, night, [story_id])
        if story_id in got:
            return got[story_id]
    return None


def read_cluster_members(output_root: Path, night: str, cluster_id: str) -> list[dict]:
    t = layout.read_partition(output_root, "stories", night, filters=[("cluster_id", "=", cluster_id)])
    cols = [c for c in STORY_COLUMNS if c in t.column_names]
    rows = t.select(cols).to_pylist()
    for r in rows:
        r["night"] = night
    return rows


def _section(manifest: dict, name: str, cls):
    """A config section of the night's manifest as its typed settings (``dedup.config``'s defaults
    where the manifest has none: there is no second default here)."""
    d = (manifest.get("config") or {}).get(name) or {}
    known = set(cls.model_fields)
    return cls(**{k: v for k, v in d.items() if k in known})


def dedup_settings(manifest: dict) -> DedupSettings:
    """The night's similarity settings."""
    return _section(manifest, "dedup", DedupSettings)


def chrome_settings(manifest: dict) -> ChromeSettings:
    """The night's chrome settings."""
    return _section(manifest, "chrome", ChromeSettings)


def state_path_of(output_root: Path, manifest: dict) -> Path:
    """Where the night's run kept its state (``state.path``, default ``<output>/_state``, as
    ``dedup.config.Settings.state_path``)."""
    p = state_settings(manifest).path
    return Path(p) if p else Path(output_root) / "_state"


def state_settings(manifest: dict) -> StateSettings:
    """The night's state settings (retention)."""
    return _section(manifest, "state", StateSettings)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

@dataclass
class _Fp:
    """Fingerprints of a handful of stories, with what the verify rules need."""

    ids: list[str]
    signatures: np.ndarray
    offsets: np.ndarray
    values: np.ndarray
    words: np.ndarray
    text_hash: np.ndarray
    headline_hash: np.ndarray
    published_ns: np.ndarray
    numbers: tuple | None = None  # (offsets, values, known): number sequences, as dedup.stages.verify uses them

    def index(self, sid: str) -> int:
        return self.ids.index(sid)

    def shingles(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i]: self.offsets[i + 1]]

    @property
    def n_shingles(self) -> np.ndarray:
        return np.diff(self.offsets)


def _fingerprint_rows(rows: list[dict], s: DedupSettings) -> _Fp:
    """Fingerprints as the run computed them: fingerprint text, shingles, MinHash, the token-sequence
    hash for exact matches, and the lowercased-headline hash."""
    from dedup.stages.fingerprint import fingerprint, hash_strings, number_sequences
    from dedup.stages.text.normalize import fingerprint_text
    from dedup.stages.verify import numbers_wanted

    bodies = pa.array([r.get("body_clean") or "" for r in rows], pa.large_string())
    fp = fingerprint(fingerprint_text(bodies), num_perm=s.num_perm, shingle_size=s.shingle_size, seed=s.seed)
    words = np.array(
        [r["words"] if r.get("words") is not None else len((r.get("body_clean") or "").split()) for r in rows], np.int64
    )
    heads = pc.utf8_lower(pa.array([r.get("headline") for r in rows], pa.string()))
    pub = pa.array([r.get("published_at") for r in rows], pa.timestamp("us", tz="UTC"))
    pub = pc.fill_null(pub.cast(pa.int64()), np.iinfo(np.int64).max).to_numpy()
    known = numbers_wanted(words, s.short_words)
    numbers = (*number_sequences(fingerprint_text(bodies), known), known)
    return _Fp([r["story_id"] for r in rows], fp.signatures, fp.offsets, fp.values, words,
               fp.text_hash, hash_strings(heads), pub, numbers)


@dataclass
class PairFigures:
    a: str
    b: str
    shingles_a: int
    shingles_b: int
    shared_shingles: int
    jaccard_exact: float
    jaccard_estimated: float
    containment: float  # shared / smaller set, as the verify stage computes it
    containment_a_in_b: float
    containment_b_in_a: float
    words_a: int
    words_b: int
    same_text: bool
    same_headline: bool
    bands: int
    rows: int
    shared_bands: list[int]
    candidates: bool
    candidate_reasons: list[str]
    match: bool
    rule: str  # why it matches, or why not, in the terms of dedup.stages.verify


def pair_figures(fp: _Fp, i: int, j: int, s: DedupSettings) -> PairFigures:
    from dedup.stages import verify
    from dedup.stages.candidates import band_keys, lsh_params

    A, B = fp.shingles(i), fp.shingles(j)
    inter = int(np.intersect1d(A, B, assume_unique=True).size)
    na, nb = int(A.size), int(B.size)
    union = na + nb - inter
    jac = inter / union if union else 0.0
    con = inter / min(na, nb) if min(na, nb) else 0.0
    est = float(np.mean(fp.signatures[i] == fp.signatures[j]))
    bands, rows = lsh_params(s.candidate_threshold, s.num_perm)
    keys = band_keys(fp.signatures[[i, j]], bands, rows)
    shared_bands = [int(k) for k in np.flatnonzero(keys[:, 0] == keys[:, 1])]
    same_text = bool(fp.text_hash[i] == fp.text_hash[j] and fp.text_hash[i] != 0)
    same_headline = bool(fp.headline_hash[i] == fp.headline_hash[j] and fp.headline_hash[i] != 0)
    wa, wb = int(fp.words[i]), int(fp.words[j])
    short = min(wa, wb) < s.short_words
    reasons = []
    if shared_bands:
        reasons.append(f"{len(shared_bands)} of {bands} LSH bands agree ({rows} signature rows each; "
                       f"first: band {shared_bands[0]})")
    if same_text:
        reasons.append("identical fingerprint text")
    if same_headline and short:
        reasons.append("identical headline, and one is a short story")
    scores = verify.score_pairs(
        fp.offsets, fp.values, np.array([i]), np.array([j]), words=fp.words, text_hash=fp.text_hash,
        headline_hash=fp.headline_hash, threshold=s.threshold, containment_threshold=s.containment_threshold,
        short_words=s.short_words, numbers=fp.numbers,
    )
    match = bool(scores.match[0])
    fit = None
    if fp.numbers is not None and fp.numbers[2][i] and fp.numbers[2][j]:
        fits, distinct = verify.number_fit(fp.numbers[0], fp.numbers[1], np.array([i]), np.array([j]))
        fit = (bool(fits[0]), int(distinct[0]))
    rule = _rule(match, jac, con, min(na, nb), wa, wb, same_text, same_headline, s, fit)
    return PairFigures(
        a=fp.ids[i], b=fp.ids[j], shingles_a=na, shingles_b=nb, shared_shingles=inter,
        jaccard_exact=round(jac, 4), jaccard_estimated=round(est, 4), containment=round(con, 4),
        containment_a_in_b=round(inter / na, 4) if na else 0.0, containment_b_in_a=round(inter / nb, 4) if nb else 0.0,
        words_a=wa, words_b=wb, same_text=same_text, same_headline=same_headline, bands=bands, rows=rows,
        shared_bands=shared_bands, candidates=bool(reasons), candidate_reasons=reasons, match=match, rule=rule,
    )


def _rule(match, jac, con, min_shingles, wa, wb, same_text, same_headline, s: DedupSettings, fit=None) -> str:
    """The verify rule that decided the pair, in words (mirrors dedup.stages.verify.score_pairs). ``fit``:
    (numbers fit, distinct numbers) when both number sequences are known."""
    from dedup.stages.verify import (
        BRIEF_CONTAINMENT, MIN_BRIEF_NUMBERS, MIN_EXACT_WORDS, MIN_LEDE_SHINGLES, MIN_LEDE_WORDS,
    )

    shortest = min(wa, wb)
    exact = same_text and shortest >= MIN_EXACT_WORDS
    if shortest < s.short_words:
        head = (f"short-story rule (the shorter has {shortest} words, under dedup.short_words={s.short_words}): "
                "only identical text, a whole lede, the same headline with Jaccard over the threshold or the "
                "shorter wholly contained, or a table brief whose figures all recur in order count")
        if fit is not None and not fit[0]:
            return (f"no match: their numbers differ (the shorter's figures are not all in the other, in order), "
                    f"and numbers that differ are never the same report. {head}")
        if exact:
            return f"match: identical fingerprint text ({shortest} words, at least {MIN_EXACT_WORDS}). {head}"
        if con >= 0.999 and min_shingles >= MIN_LEDE_SHINGLES and shortest >= MIN_LEDE_WORDS:
            return (f"match: the shorter is wholly contained in the other (a lede of {min_shingles} shingles, "
                    f"at least {MIN_LEDE_SHINGLES}). {head}")
        if same_headline and con >= 0.999 and shortest >= MIN_EXACT_WORDS:
            return (f"match: same headline, and the shorter ({shortest} words, at least {MIN_EXACT_WORDS}) is wholly "
                    f"contained in the other. {head}")
        if same_headline and jac >= s.threshold:
            return f"match: same headline and Jaccard {jac:.3f} >= {s.threshold}. {head}"
        if fit is not None and fit[1] >= MIN_BRIEF_NUMBERS and con >= BRIEF_CONTAINMENT:
            return (f"match: a table brief: the shorter's {fit[1]} distinct figures all recur in the other in order "
                    f"(at least {MIN_BRIEF_NUMBERS}), and {con:.3f} of its shingles (at least {BRIEF_CONTAINMENT}). {head}")
        why = []
        if same_text:
            why.append(f"identical text but under {MIN_EXACT_WORDS} words")
        why.append(f"containment {con:.3f} is not whole" if con < 0.999 else
                   f"contained, but only {min_shingles} shingles (< {MIN_LEDE_SHINGLES})"
                   if min_shingles < MIN_LEDE_SHINGLES else
                   f"contained, but only {shortest} words (< {MIN_LEDE_WORDS})")
        why.append("headlines differ" if not same_headline else
                   f"same headline but Jaccard {jac:.3f} < {s.threshold} and the shorter "
                   + ("not wholly contained" if con < 0.999 else f"under {MIN_EXACT_WORDS} words"))
        return f"no match: {head}; here " + "; ".join(why)
    parts = []
    if jac >= s.threshold:
        parts.append(f"Jaccard {jac:.3f} >= dedup.threshold {s.threshold}")
    if con >= s.containment_threshold:
        parts.append(f"containment {con:.3f} >= dedup.containment_threshold {s.containment_threshold}")
    if exact:
        parts.append("identical fingerprint text")
    if match:
        return "match: " + " and ".join(parts)
    return (f"no match: Jaccard {jac:.3f} < dedup.threshold {s.threshold} and containment {con:.3f} < "
            f"dedup.containment_threshold {s.containment_threshold}")


# --------------------------------------------------------------------------------------------
# Shared passages and removed lines
# --------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\S+")


def _key(tok: str) -> str:
    return re.sub(r"[\W_]+", "", tok.lower())


def mark_shared(text_a: str, text_b: str, k: int = 4) -> tuple[list[list[tuple[str, bool]]], list[list[tuple[str, bool]]]]:
    """Per paragraph, the words of each text with a flag: inside a word k-gram the other text has too."""

    def paras(t):
        return [[m.group(0) for m in _TOKEN.finditer(line)] for line in (t or "").split("\n") if line.strip()]

    def grams(ps):
        keys = [_key(w) for p in ps for w in p]
        keys = [x for x in keys if x]
        if len(keys) < k:
            return {tuple(keys)} if keys else set()
        return {tuple(keys[i:i + k]) for i in range(len(keys) - k + 1)}

    pa_, pb_ = paras(text_a), paras(text_b)

    def flags(ps, other):
        flat = [(pi, w, _key(w)) for pi, p in enumerate(ps) for w in p]
        idx = [n for n, (_, _, kk) in enumerate(flat) if kk]
        keys = [flat[n][2] for n in idx]
        shared = [False] * len(flat)
        kk_ = min(k, len(keys))
        for s0 in range(0, max(len(keys) - kk_ + 1, 0)):
            if kk_ and tuple(keys[s0:s0 + kk_]) in other:
                for t in range(s0, s0 + kk_):
                    shared[idx[t]] = True
        # punctuation-only tokens take the flag of the word before them
        for n, (_, _, kk) in enumerate(flat):
            if not kk and n > 0:
                shared[n] = shared[n - 1]
        out = [[] for _ in ps]
        for n, (pi, w, _) in enumerate(flat):
            out[pi].append((w, shared[n]))
        return out

    ga, gb = grams(pa_), grams(pb_)
    return flags(pa_, gb), flags(pb_, ga)


def shared_share(marks: list[list[tuple[str, bool]]]) -> float:
    flat = [f for p in marks for _, f in p]
    return sum(flat) / len(flat) if flat else 0.0


@dataclass
class RemovedLines:
    """What cleaning took out of a story, reconstructed from its input record."""

    available: bool
    note: str = ""
    removed: list[str] = field(default_factory=list)  # whole lines dropped (chrome, credits)
    trimmed: list[str] = field(default_factory=list)  # leading/trailing parts cut from kept lines (datelines)
    # Parallel to ``removed``: the rule that removed each line and its evidence (``clean.why_removed``);
    # empty when the night's chrome model is not in the state any more.
    rules: list[str] = field(default_factory=list)


def removed_lines(row: dict, manifest: dict, state_path: Path | None = None) -> RemovedLines:
    """Re-read the story's record from its input file and diff its prepared text with body_clean.
    With ``state_path`` (the run's state), each removed line also gets the rule that removed it,
    from the cleaning steps rerun with the chrome model the night used (``rules``)."""
    from dedup.stages import clean
    from dedup.config import InputSettings
    from dedup.stages.read import InputFile, ReadStats, format_of, iter_items

    src, rec = row.get("source"), row.get("record")
    if not src or rec is None:
        return RemovedLines(False, "no source/record in the stories table")
    from dedup.config import is_object_store

    p = Path(src)
    size = None
    if is_object_store(src):
        # A bucket input's record is re-read from its object, through fsspec as the run read it.
        try:
            import fsspec

            fs, key = fsspec.core.url_to_fs(src)
            size = int(fs.size(key))
        except Exception as e:  # noqa: BLE001 - gone, or no access: the explanation stands without it
            return RemovedLines(False, f"input object {src} cannot be read any more: {type(e).__name__}: {e}")
    elif not p.is_file():
        return RemovedLines(False, f"input file {src} is no longer there (paths are relative to where the run started)")
    cfg = dict((manifest.get("config") or {}).get("input") or {})
    cfg.setdefault("path", src)
    try:
        settings = InputSettings(**{k: v for k, v in cfg.items() if k in InputSettings.model_fields})
        f = InputFile(src if size is not None else str(p), format_of(p, settings.format),
                      size if size is not None else p.stat().st_size)
        obj = None
        for _, n, _, o, err in iter_items([f], settings, ReadStats()):
            if n == rec:
                obj = None if err else o
                break
            if n > rec:
                break
    except Exception as e:  # noqa: BLE001 - an explanation must not fail on an odd input file
        return RemovedLines(False, f"could not re-read {src}: {type(e).__name__}: {e}")
    fields = {name: settings.fields.get(name, name) for name in ("id", "body")}
    if not isinstance(obj, dict) or str(obj.get(fields["id"], "")).strip() != row["story_id"]:
        return RemovedLines(False, f"record {rec} of {src} is not story {row['story_id']} any more (file changed)")
    body = obj.get(fields["body"])
    if not isinstance(body, str):
        return RemovedLines(False, f"record {rec} of {src} has no body")
    text, _ = clean.prepare(pa.array([body], pa.large_string()))
    raw_lines = [ln.strip() for ln in text[0].as_py().split("\n") if ln.strip()]
    kept = [ln.strip() for ln in (row.get("body_clean") or "").split("\n") if ln.strip()]
    kept_set = set(kept)
    out = RemovedLines(True)
    for ln in raw_lines:
        if ln in kept_set:
            continue
        inner = next((k for k in kept if len(k) >= 20 and k in ln), None)
        if inner is not None:
            cut = ln.replace(inner, " … ").strip()
            out.trimmed.append(cut)
        else:
            out.removed.append(ln)
    if out.removed and state_path is not None:
        out.rules = _rules_of(out.removed, text[0].as_py(), row, manifest, state_path)
    return out


def _rules_of(removed: list[str], text: str, row: dict, manifest: dict, state_path: Path) -> list[str]:
    """The rule (with its evidence) that removed each of ``removed``, or [] when the night's chrome
    model cannot be read."""
    from dedup.night.state import chrome_model_at  # the one place a tool reads the state's chrome model
    from dedup.stages.chrome import chrome_outlets
    from dedup.stages.clean import why_removed

    try:
        model = chrome_model_at(state_path, row["night"], state_settings(manifest).retention_days)
    except Exception:  # noqa: BLE001 - the explanation stands without the rules
        return []
    why = {}
    site = chrome_outlets(pa.array([row.get("outlet")], pa.string()), pa.array([row.get("url")], pa.string()))[0].as_py()
    for w in why_removed(text, site, model, chrome_settings(manifest), row.get("headline")):
        why.setdefault(w["line"].strip(), w["rule"] + (f" ({w['reports']} different reports carried it)"
                                                       if w["reports"] else ""))
    # A line cleaning cut a dateline from is named by its rest ("Periods end ..." of "CHICAGO
    # (Reuters) - Periods end ..."): such a line takes the rule of the rest it ends with.
    return [why.get(ln) or next((w for k, w in why.items() if len(k) >= 8 and ln.endswith(k)), "")
            for ln in removed]


# --------------------------------------------------------------------------------------------
# explain
# --------------------------------------------------------------------------------------------

@dataclass
class Explanation:
    a: dict
    b: dict
    settings: dict
    figures: PairFigures
    same_cluster: bool
    verdict: str
    reasons: list[str]
    marks_a: list = field(repr=False, default_factory=list)
    marks_b: list = field(repr=False, default_factory=list)
    removed_a: RemovedLines | None = None
    removed_b: RemovedLines | None = None

    def to_dict(self) -> dict:
        def story(r, rem, marks):
            d = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            d["shared_word_share"] = round(shared_share(marks), 4)
            d["removed_lines"] = asdict(rem) if rem else None
            return d

        return {
            "a": story(self.a, self.removed_a, self.marks_a),
            "b": story(self.b, self.removed_b, self.marks_b),
            "settings": self.settings,
            "figures": asdict(self.figures),
            "same_cluster": self.same_cluster,
            "verdict": self.verdict,
            "reasons": self.reasons,
        }


def explain(output_root: Path, a: str, b: str, run_date: str | None = None, *, with_removed: bool = True) -> Explanation:
    """Why stories a and b are, or are not, in one cluster (see the module docstring)."""
    output_root = Path(output_root)
    _check_root(output_root)
    if a == b:
        raise NotFound("give two different story ids")
    night = None
    if run_date is None:
        # The latest night holding both; else each from its latest night.
        for n in reversed(list_nights(output_root)):
            rows = read_stories(output_root, n, [a, b])
            if a in rows and b in rows:
                night = n
                break
    if night is None:
        na = _night_with(output_root, a, run_date)
        nb = _night_with(output_root, b, run_date)
        ra, rb = read_stories(output_root, na, [a])[a], read_stories(output_root, nb, [b])[b]
    else:
        rows = read_stories(output_root, night, [a, b])
        ra, rb = rows[a], rows[b]
        na = nb = night
    # The settings of the later night: its run made the decision.
    manifest = load_manifest(output_root, max(na, nb))
    s = dedup_settings(manifest)
    retention = state_settings(manifest).retention_days

    # The stories the decision depends on: the pair and the canonicals of their clusters (which
    # may have been written on an earlier night).
    involved = {a: ra, b: rb}
    for r in (ra, rb):
        c = r.get("canonical_story_id")
        if c and c not in involved:
            got = find_story(output_root, c, up_to=r["night"])
            if got is not None:
                involved[c] = got
    fp = _fingerprint_rows(list(involved.values()), s)
    fig = pair_figures(fp, fp.index(a), fp.index(b), s)
    same_cluster = ra.get("cluster_id") == rb.get("cluster_id")
    verdict, reasons = _Why(output_root, involved, fp, s, retention).pair(ra, rb, fig, same_cluster)
    ma, mb = mark_shared(ra.get("body_clean"), rb.get("body_clean"), s.shingle_size)
    return Explanation(
        a=ra, b=rb, settings=s.model_dump(), figures=fig, same_cluster=same_cluster, verdict=verdict,
        reasons=reasons, marks_a=ma, marks_b=mb,
        removed_a=_removed(output_root, ra, na) if with_removed else None,
        removed_b=_removed(output_root, rb, nb) if with_removed else None,
    )


def _removed(output_root: Path, row: dict, night: str) -> RemovedLines:
    m = load_manifest(output_root, night)
    return removed_lines(row, m, state_path_of(output_root, m))


def _plain(rule: str) -> str:
    return rule.removeprefix("match: ").removeprefix("no match: ")


class _Why:
    """The verdict on a pair, in the terms of the run: LSH, the verify rules, star clustering with
    a rescue pass, and the state window of earlier nights' clusters."""

    def __init__(self, output_root: Path, rows: dict, fp: _Fp, s: DedupSettings, retention: int):
        self.root, self.rows, self.fp, self.s, self.retention = output_root, rows, fp, s, retention

    def vs(self, x: str, c: str | None) -> PairFigures | None:
        if c is None or x not in self.fp.ids or c not in self.fp.ids:
            return None
        return pair_figures(self.fp, self.fp.index(x), self.fp.index(c), self.s)

    def order(self, ids: list[str], night: str) -> list[str]:
        """ids in the run's preference order: earlier nights' canonicals first, then most shingles,
        earliest published, smallest id."""
        def key(sid):
            i = self.fp.index(sid)
            return (0 if self.rows[sid]["night"] < night else 1, -int(self.fp.n_shingles[i]), int(self.fp.published_ns[i]), sid)
        return sorted((x for x in ids if x in self.fp.ids), key=key)

    def joined(self, row: dict, canon: str, f: PairFigures | None) -> tuple[str, list[str]]:
        """How a member joined its canonical: directly (a compared, matching pair) or by rescue."""
        sid = row["story_id"]
        crow = self.rows.get(canon)
        where = (f" (a cluster from {crow['night']}, kept in the state window)"
                 if crow is not None and crow["night"] < row["night"] else "")
        if f is None:
            return f"{sid} is in the cluster of {canon}{where}, whose story is not in the output any more", []
        if f.match and f.candidates:
            return f"{sid} joined {canon}{where} because it matches the canonical itself ({_plain(f.rule)})", []
        share = f.containment_a_in_b if f.a == sid else f.containment_b_in_a
        why = (f"matches {canon} by the rules but LSH did not pair them" if f.match
               else f"does not match {canon} ({_plain(f.rule)})")
        return (f"{sid} {why}; it joined{where} in the rescue pass: left alone, it matches a member, and {share:.0%} "
                f"of it is in the canonical (dedup.rescue_containment={self.s.rescue_containment})",
                [self.rescue_member(row)])

    def pair(self, ra: dict, rb: dict, fig: PairFigures, same_cluster: bool) -> tuple[str, list[str]]:
        a, b = ra["story_id"], rb["story_id"]
        reasons: list[str] = []
        if fig.candidates:
            reasons.append("LSH made them candidates: " + "; ".join(fig.candidate_reasons))
        else:
            reasons.append(f"LSH did not make them candidates: none of the {fig.bands} bands agree (estimated "
                           f"Jaccard {fig.jaccard_estimated:.2f}; the bands are tuned for {self.s.candidate_threshold}) "
                           "and their texts are not identical")
        reasons.append(fig.rule)
        ca, cb = ra.get("canonical_story_id"), rb.get("canonical_story_id")

        if same_cluster:
            if ca in (a, b):
                member = rb if ca == a else ra
                how, extra = self.joined(member, ca, fig)
                reasons += extra
                return f"One cluster: {ca} is the canonical; {how}.", reasons
            hows = []
            for row in (ra, rb):
                how, extra = self.joined(row, ca, self.vs(row["story_id"], ca))
                hows.append(how)
                reasons += extra
            return (f"One cluster around canonical {ca}: they are joined through it, not to each other. "
                    + "; ".join(hows) + ".", reasons)

        if ra["night"] != rb["night"]:
            return self.across_nights(ra, rb, fig, reasons)
        if not fig.match:
            verdict = f"Not joined: they are not the same story by the rules ({_plain(fig.rule)})."
            if not fig.candidates:
                verdict += " LSH did not pair them either."
            return verdict, reasons
        if not fig.candidates:
            return ("Not joined although they match by the rules: LSH did not make them candidates, so the run "
                    "never compared them (MinHash banding misses a pair now and then; the estimate here is "
                    f"{fig.jaccard_estimated:.2f} against an exact {fig.jaccard_exact:.2f}).", reasons)
        # They match and were candidates: star clustering kept them apart.
        night = ra["night"]
        order = self.order(list({a, b, ca, cb} - {None}), night)
        pos = {sid: n for n, sid in enumerate(order)}
        reasons.append("a story joins only the cluster of a canonical it matches itself (clusters are stars, so "
                       "similarity never chains); the run takes earlier nights' canonicals first, then the most "
                       f"complete stories (order among these: {', '.join(order)})")
        for sid, own, other_c in ((a, ca, cb), (b, cb, ca)):
            row = self.rows[sid]
            if own == sid:
                reasons.append(f"{sid} is the canonical of its own cluster")
            else:
                reasons.append(self.joined(row, own, self.vs(sid, own))[0])
            if other_c and other_c != sid:
                g = self.vs(sid, other_c)
                if g is not None:
                    reasons.append(f"{sid} vs the other canonical {other_c}: {g.rule}")
        if ca == a and cb == b:
            reasons.append("both are canonicals: the run did not compare them directly (in a shared LSH bucket a "
                           "story is compared with the bucket's best-ranked story and its neighbour in rank order)")
        elif ca == a or cb == b:
            canon, member, mc = (a, b, cb) if ca == a else (b, a, ca)
            g = self.vs(member, mc)
            earlier = self.rows[mc]["night"] < night if mc in self.rows else False
            if g is not None and g.match and g.candidates and not earlier and self.rows[canon]["night"] == night:
                reasons.append(f"{member} matches both canonicals and joined the one it matches best, {mc}: a "
                               "resemblance match (Jaccard at least dedup.threshold) before a containment match, then "
                               "the higher Jaccard (resemblance) or the higher containment and then Jaccard (the "
                               "tightest container), then the canonical taken first")
            elif pos.get(mc, 0) < pos.get(canon, 0):
                reasons.append(f"{member} was already in the cluster of {mc} (taken earlier) when {canon} "
                               "opened its own")
            else:
                reasons.append(f"{canon} ranks before {mc}, but the run did not compare {canon} with {member} "
                               "directly (in a shared LSH bucket a story is compared with the bucket's best-ranked "
                               "story and its neighbour in rank order)")
        return ("Not joined although they match: each belongs to a different canonical, and a story joins only a "
                "canonical it matches itself.", reasons)

    def across_nights(self, ra: dict, rb: dict, fig: PairFigures, reasons: list[str]) -> tuple[str, list[str]]:
        early, late = (ra, rb) if ra["night"] < rb["night"] else (rb, ra)
        e, l_ = early["story_id"], late["story_id"]
        ce, cl = early.get("canonical_story_id"), late.get("canonical_story_id")
        gap = (dt.date.fromisoformat(late["night"]) - dt.date.fromisoformat(early["night"])).days
        reasons.append(f"{e} was written on {early['night']}, {l_} on {late['night']} ({gap} nights later)")
        if gap > self.retention:
            return (f"Not joined: {e}'s cluster was written {gap} nights before {l_}'s night, outside the state window "
                    f"(state.retention_days={self.retention}) that the run of {late['night']} matched against.", reasons)
        g = self.vs(l_, ce)
        if g is None:
            return (f"Not joined: {l_} could join {e}'s cluster only through its canonical {ce}, which is not in the "
                    "output any more.", reasons)
        reasons.append(f"{l_} vs {e}'s canonical {ce}: {g.rule}")
        if not g.match:
            return (f"Not joined: a story of a later night joins an earlier cluster only by matching its canonical, "
                    f"and {l_} does not match {ce} ({_plain(g.rule)}).", reasons)
        if not g.candidates:
            return (f"Not joined although {l_} matches {e}'s canonical {ce} by the rules: LSH did not make them "
                    "candidates, so the run never compared them.", reasons)
        return (f"Not joined: {l_} matches {e}'s canonical {ce}, but it was taken by {cl} first (the run takes "
                "earlier nights' canonicals before tonight's stories; among them the most complete first).", reasons)

    def rescue_member(self, row: dict) -> str:
        """Which member of its cluster (from the same night) a rescued story matches."""
        members = [m for m in read_cluster_members(self.root, row["night"], row["cluster_id"])
                   if m["story_id"] != row["story_id"] and not m["is_canonical"]][:200]
        if not members:
            return f"{row['story_id']}: no other member of that night found for the rescue pass"
        mfp = _fingerprint_rows([row] + members, self.s)
        hits = []
        for k in range(1, len(members) + 1):
            f = pair_figures(mfp, 0, k, self.s)
            if f.match:
                hits.append(f"{mfp.ids[k]} ({_plain(f.rule)})")
        if not hits:
            return f"{row['story_id']}: rescue pass, but no member matches it now (rules or settings changed?)"
        return f"{row['story_id']} was rescued through member " + "; ".join(hits[:3])


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

GREEN, DIM, BOLD, RESET = "\x1b[32m", "\x1b[2m", "\x1b[1m", "\x1b[0m"


def _wrap_marked(paras, width: int, color: bool) -> list[tuple[str, int]]:
    """Wrap marked words to width (measured without escape codes); shared runs in [[ ]] or green."""
    out: list[tuple[str, int]] = []
    for p in paras:
        pieces = []  # (visible text, shared)
        for n, (w, shared) in enumerate(p):
            prev = p[n - 1][1] if n else False
            nxt = p[n + 1][1] if n + 1 < len(p) else False
            if not color and shared:
                w = ("[[" if not prev else "") + w + ("]]" if not nxt else "")
            pieces.append((w, shared))
        line: list[tuple[str, bool]] = []
        vis = 0
        for visible, shared in pieces:
            add = len(visible) + (1 if line else 0)
            if line and vis + add > width:
                out.append((_render_line(line, color), vis))
                line, vis, add = [], 0, len(visible)
            line.append((visible, shared))
            vis += add
        if line:
            out.append((_render_line(line, color), vis))
        out.append(("", 0))
    if out:
        out.pop()
    return out


def _render_line(line: list[tuple[str, bool]], color: bool) -> str:
    if not color:
        return " ".join(w for w, _ in line)
    s, on = [], False
    for n, (w, shared) in enumerate(line):
        if shared and not on:
            s.append((" " if n else "") + GREEN + w)
            on = True
        elif not shared and on:
            s.append(RESET + " " + w)
            on = False
        else:
            s.append((" " if n else "") + w)
    return "".join(s) + (RESET if on else "")


def _side_by_side(left, right, width: int, color: bool, titles: tuple[str, str]) -> str:
    col = max((width - 3) // 2, 20)
    L, R = _wrap_marked(left, col, color), _wrap_marked(right, col, color)
    rows = [f"{titles[0][:col]:<{col}} | {titles[1][:col]}", f"{'-' * col}-+-{'-' * col}"]
    for n in range(max(len(L), len(R))):
        lt, lv = L[n] if n < len(L) else ("", 0)
        rt, _ = R[n] if n < len(R) else ("", 0)
        rows.append(lt + " " * (col - lv) + " | " + rt)
    return "\n".join(r.rstrip() for r in rows)


def _fmt_time(v) -> str:
    return v.strftime("%Y-%m-%d %H:%M UTC") if v is not None else "-"


def render_text(e: Explanation, *, width: int = 120, color: bool = False) -> str:
    f = e.figures
    b_ = (lambda t: BOLD + t + RESET) if color else (lambda t: t)
    wrapped = textwrap.wrap("Verdict: " + e.verdict, width=max(width, 40))
    out = [b_("Verdict: ") + wrapped[0].removeprefix("Verdict: ")] + wrapped[1:] + [""]
    out.append("Why:")
    for r in e.reasons:
        out += textwrap.wrap(r, width=max(width, 40), initial_indent="  - ", subsequent_indent="    ")
    out.append("")
    out.append("Figures (recomputed from body_clean with the night's settings: "
               f"num_perm={e.settings['num_perm']}, shingle_size={e.settings['shingle_size']}, seed={e.settings['seed']}):")
    out.append(f"  Jaccard exact {f.jaccard_exact:.4f}   estimated (MinHash) {f.jaccard_estimated:.4f}   "
               f"threshold {e.settings['threshold']}")
    out.append(f"  containment {f.containment:.4f} (shared {f.shared_shingles} of the smaller set)   "
               f"{f.a} in {f.b}: {f.containment_a_in_b:.4f}   {f.b} in {f.a}: {f.containment_b_in_a:.4f}   "
               f"threshold {e.settings['containment_threshold']}")
    out.append(f"  shingles {f.shingles_a} / {f.shingles_b}   words {f.words_a} / {f.words_b}   "
               f"short-story limit {e.settings['short_words']} words")
    out.append(f"  LSH {f.bands} bands x {f.rows} rows: candidates {'yes' if f.candidates else 'no'}"
               + (f" (bands agreeing: {len(f.shared_bands)})" if f.shared_bands else ""))
    out.append("")
    for tag, r, rem, marks in (("A", e.a, e.removed_a, e.marks_a), ("B", e.b, e.removed_b, e.marks_b)):
        out.append(b_(f"{tag} {r['story_id']}") + f"  {r.get('outlet') or '-'}  {_fmt_time(r.get('published_at'))}  "
                   f"night {r['night']}")
        out.append(f"  headline: {r.get('headline') or '-'}")
        out.append(f"  cluster {r.get('cluster_id')}  canonical {r.get('canonical_story_id')}  relation "
                   f"{r.get('relation')}  similarity to canonical {r.get('similarity')}")
        out.append(f"  agency {r.get('agency') or '-'}  dateline {r.get('dateline') or '-'}  "
                   f"words {r.get('words')}  shared words {shared_share(marks):.0%}")
        out.append(f"  chrome lines removed: {r.get('chrome_lines_removed')}"
                   + ("; lines cleaning took out of the input record (chrome and wire furniture):"
                      if rem is not None and rem.available and (rem.removed or rem.trimmed) else ""))
        if rem is not None:
            if not rem.available:
                out.append(f"    (removed text not shown: {rem.note})")
            for i, ln in enumerate(rem.removed):
                out.append(f"    - {ln[:width - 8]}")
                if i < len(rem.rules) and rem.rules[i]:
                    out.append(f"        why: {rem.rules[i]}")
            for ln in rem.trimmed:
                out.append(f"    ~ {ln[:width - 8]}  (cut from a kept paragraph)")
        out.append("")
    legend = "green" if color else "[[ ]]"
    out.append(f"Cleaned texts ({legend}: passages of {e.settings['shingle_size']}+ words found in the other text):")
    out.append(_side_by_side(e.marks_a, e.marks_b, width, color,
                             (f"A {e.a['story_id']} ({e.a.get('outlet') or '-'})", f"B {e.b['story_id']} ({e.b.get('outlet') or '-'})")))
    return "\n".join(out) + "\n"


def render_html(e: Explanation) -> str:
    """A standalone page: the two cleaned texts side by side, shared passages highlighted."""
    def col(marks):
        ps = []
        for p in marks:
            words = []
            for w, sh in p:
                words.append(f"<mark>{html.escape(w)}</mark>" if sh else html.escape(w))
            ps.append("<p>" + " ".join(words).replace("</mark> <mark>", " ") + "</p>")
        return "\n".join(ps)

    f = e.figures
    rows = "".join(f"<li>{html.escape(r)}</li>" for r in e.reasons)

    def head(r):
        return (f"<h2>{html.escape(r['story_id'])} <small>{html.escape(r.get('outlet') or '')}</small></h2>"
                f"<p class=meta>{html.escape(r.get('headline') or '')}<br>{_fmt_time(r.get('published_at'))} · "
                f"relation {html.escape(str(r.get('relation')))} · {r.get('chrome_lines_removed')} chrome lines removed</p>")

    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>dedup explain {html.escape(f.a)} {html.escape(f.b)}</title><style>
body{{font:15px/1.5 system-ui,"DejaVu Sans",sans-serif;margin:24px;color:#1f2933}}
.grid{{display:grid;grid-template-columns:1fr 1fr;gap:24px}} mark{{background:#c7f0d2}}
.meta{{color:#52606d;font-size:13px}} small{{color:#52606d;font-weight:normal}}
table{{border-collapse:collapse}} td{{padding:2px 12px 2px 0}}</style></head><body>
<h1>Why {html.escape(f.a)} and {html.escape(f.b)} {'are' if e.same_cluster else 'are not'} in one cluster</h1>
<p><b>{html.escape(e.verdict)}</b></p><ul>{rows}</ul>
<table><tr><td>Jaccard exact / estimated</td><td>{f.jaccard_exact:.4f} / {f.jaccard_estimated:.4f}</td></tr>
<tr><td>containment</td><td>{f.containment:.4f}</td></tr><tr><td>LSH candidates</td><td>{'yes' if f.candidates else 'no'}</td></tr></table>
<div class=grid><div>{head(e.a)}{col(e.marks_a)}</div><div>{head(e.b)}{col(e.marks_b)}</div></div>
</body></html>
"""


# --------------------------------------------------------------------------------------------
# show
# --------------------------------------------------------------------------------------------

@dataclass
class ClusterView:
    night: str
    cluster: dict
    members: list[dict]  # canonical first, then by time

    def headline_variants(self) -> list[tuple[str, list[str]]]:
        seen: dict[str, list[str]] = {}
        for m in self.members:
            seen.setdefault((m.get("headline") or "").strip(), []).append(m.get("outlet") or "-")
        return sorted(seen.items(), key=lambda kv: -len(kv[1]))

    def to_dict(self) -> dict:
        def clean(d):
            return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in d.items()}
        return {"night": self.night, "cluster": clean(self.cluster),
                "members": [clean({k: v for k, v in m.items() if k != "body_clean"}) for m in self.members],
                "headline_variants": [{"headline": h, "outlets": o} for h, o in self.headline_variants()]}


def show(output_root: Path, cluster_id: str | None = None, *, story_id: str | None = None,
         run_date: str | None = None) -> ClusterView:
    output_root = Path(output_root)
    _check_root(output_root)
    if (cluster_id is None) == (story_id is None):
        raise NotFound("give a cluster id or --story ID (one of them)")
    if story_id is not None:
        night = _night_with(output_root, story_id, run_date)
        cluster_id = read_stories(output_root, night, [story_id])[story_id]["cluster_id"]
    else:
        night = None
        for n in ([run_date] if run_date else reversed(list_nights(output_root, "clusters"))):
            ids = layout.read_partition(output_root, "clusters", n, columns=["cluster_id"]).column("cluster_id")
            if pc.any(pc.equal(ids, cluster_id)).as_py():
                night = n
                break
        if night is None:
            raise NotFound(f"cluster {cluster_id!r} is not in {'night ' + run_date if run_date else 'any night'}")
    ct = layout.read_partition(output_root, "clusters", night, filters=[("cluster_id", "=", cluster_id)])
    cluster = ct.to_pylist()[0] if ct.num_rows else {"cluster_id": cluster_id}
    # Members: the night's, and those of earlier nights when the cluster began before it (the
    # clusters row lists every member's id).
    members = read_cluster_members(output_root, night, cluster_id)
    wanted = set(cluster.get("story_ids") or []) - {m["story_id"] for m in members}
    for n in reversed(list_nights(output_root)):
        if not wanted:
            break
        if n >= night:
            continue
        for m in read_cluster_members(output_root, n, cluster_id):
            if m["story_id"] in wanted:
                members.append(m)
                wanted.discard(m["story_id"])
    canon = cluster.get("canonical_story_id")
    members.sort(key=lambda m: (m["story_id"] != canon and not (canon is None and m.get("is_canonical")),
                                m["published_at"] is None, m["published_at"].timestamp() if m.get("published_at") else 0,
                                m["story_id"]))
    return ClusterView(night, cluster, members)


def render_cluster(v: ClusterView, *, width: int = 120, body_chars: int = 400) -> str:
    c = v.cluster
    cid = c.get("canonical_story_id")
    canon = next((m for m in v.members if m["story_id"] == cid or (cid is None and m.get("is_canonical"))),
                 v.members[0] if v.members else {})
    out = [f"Cluster {c.get('cluster_id')}  night {v.night}  size {c.get('size', len(v.members))}  "
           f"agency {c.get('agency') or '-'}  outlets {len(c.get('outlets') or [])}",
           f"published {_fmt_time(c.get('first_published_at'))} .. {_fmt_time(c.get('last_published_at'))}", ""]
    out.append(f"Canonical {canon.get('story_id')}  {canon.get('outlet') or '-'}  {_fmt_time(canon.get('published_at'))}")
    out.append(f"  headline: {_headline_text(canon) or '-'}")
    if c.get("canonical_reason"):
        out.append(f"  why canonical: {c['canonical_reason']}")
    body = (canon.get("body_clean") or "").replace("\n", " ")
    if body:
        excerpt = body[:body_chars] + (" …" if len(body) > body_chars else "")
        out += textwrap.wrap(excerpt, width=max(width - 2, 40), initial_indent="  ", subsequent_indent="  ")
    out.append("")
    several = len({m["night"] for m in v.members}) > 1
    header = ("story_id", "outlet", "published (UTC)", "relation", "similarity", "contain.", "words", "headline")
    if several:
        header = ("night",) + header
    rows = []
    for m in v.members:
        pub = m["published_at"].strftime("%Y-%m-%d %H:%M") if m.get("published_at") else "-"
        row = (m["story_id"], m.get("outlet") or "-", pub, m.get("relation") or "-",
               f"{m['similarity']:.3f}" if m.get("similarity") is not None else "-",
               f"{m['containment']:.3f}" if m.get("containment") is not None else "-",
               str(m.get("words") if m.get("words") is not None else "-"), _headline_text(m) or "-")
        rows.append(((m["night"],) + row) if several else row)
    widths = [max(len(str(r[k])) for r in rows + [header]) for k in range(len(header) - 1)]
    room = max(width - sum(widths) - 2 * len(widths), 20)

    def fmt_row(r):
        head = r[-1] if len(r[-1]) <= room else r[-1][: room - 1] + "…"
        return "  ".join(f"{str(x):<{w}}" for x, w in zip(r[:-1], widths)) + "  " + head

    out.append(f"Members ({len(v.members)}):")
    out.append(fmt_row(header))
    for r in rows:
        out.append(fmt_row(r))
    out.append("")
    variants = v.headline_variants()
    out.append(f"Headline variants ({len(variants)}):")
    for h, outlets in variants:
        out.append(f"  {len(outlets)}x  {h or '(none)'}  [{', '.join(sorted(set(outlets)))}]")
    return "\n".join(out) + "\n"


def _headline_text(row: dict) -> str:
    """A story's headline, or, when its feed carried none, "[first line] " and its lede."""
    text, is_lede = shown_headline(row.get("headline"), row.get("body_clean"))
    return f"[{LEDE_MARK}] {text}" if is_lede else text


def terminal_width(default: int = 120) -> int:
    return shutil.get_terminal_size((default, 40)).columns
