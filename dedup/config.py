"""Typed, validated configuration: the one place every setting is defined.

A config file is YAML. Only ``input.path`` and ``output.path`` are required; everything
else has a default chosen on the evaluation corpora (see README, "Measured quality").
Unknown keys and wrong types are errors, reported as one line naming the key.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Literal, Optional
from urllib.parse import unquote

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError


class ConfigError(Exception):
    """A config problem the user must fix; the message names the key or path."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# A URL scheme and its colon-slash; two letters at least, so a Windows drive (C:/) is a path. A Path
# made of a URL has lost one slash (file:/x, s3:/b/k), which this still recognises.
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):/")


def local_path(value: str) -> str:
    """The local path a configured path or URL means: ``file://`` URLs become paths, others are refused.

    ``/data/x``, ``data/x`` and globs come back as they are; ``file:///data/x``,
    ``file://localhost/data/x`` and ``file:/data/x`` become ``/data/x`` (percent-escapes decoded,
    glob characters kept). Raises ValueError (one line, saying what to do) for any other scheme
    (s3://, s3a://, gs://, abfs://, hdfs://, http://, ...) and for a file:// URL naming another
    host: the job reads, locks, stages and renames on a local (or mounted) file system only, and
    would otherwise treat the URL as a relative folder name.
    """
    m = _URL.match(value)
    if m is None:
        return value
    scheme = m.group(1).lower()
    if scheme != "file":
        raise ValueError(
            f"{scheme}:// URLs are not supported yet here (object storage and remote file systems): the night is "
            "locked, staged and committed by renames on a POSIX file system; mount the bucket or file system on this "
            "machine (e.g. mountpoint-s3 or s3fs, gcsfuse, blobfuse2, an NFS/HDFS mount) and give the mounted path, or "
            "use a local path; local paths and file:// URLs work")
    rest = value[len(m.group(1)) + 1:]
    if rest.startswith("//"):
        host, _, tail = rest[2:].partition("/")
        if host.lower() not in ("", "localhost"):
            raise ValueError(f"file:// URL with host '{host}' is not a path on this machine: "
                             "write file:///absolute/path (three slashes)")
        rest = "/" + tail
    path = unquote(rest)
    if path.strip("/") == "":
        raise ValueError(f"'{value}' names no file or folder")
    return path


# Object stores input.path may name, read through fsspec (dedup.stages.read): scheme -> the pip
# command that installs its file system. Only s3 has an extra of ours (tested against moto); gcsfs
# and adlfs are fsspec's own file systems for the other two and work once installed.
OBJECT_STORES = {
    "s3": "pip install 'dedup[s3]'", "s3a": "pip install 'dedup[s3]'",
    "gs": "pip install gcsfs", "gcs": "pip install gcsfs",
    "abfs": "pip install adlfs", "az": "pip install adlfs",
}


def url_scheme(value: str) -> str | None:
    """The lower-case scheme of a URL (``s3`` for ``s3://b/k``), None for a plain path."""
    m = _URL.match(value)
    return m.group(1).lower() if m else None


def is_object_store(value: str) -> bool:
    """Whether ``value`` is an object-store URL input.path may name (``OBJECT_STORES``)."""
    return url_scheme(value) in OBJECT_STORES


def input_path(value: str) -> str:
    """What ``input.path`` means: an object-store URL (s3://, s3a://, gs://, gcs://, abfs://, az://)
    as it is, when fsspec and that store's file system are installed; anything else as ``local_path``.

    The night is only read from the URL (sha256 and all), never written there, so no rename is
    needed. Raises ValueError (one line naming the pip command) when the file system is missing,
    and as ``local_path`` for other URLs.
    """
    scheme = url_scheme(value)
    if scheme not in OBJECT_STORES:
        return local_path(value)
    if not value.lower().startswith(f"{scheme}://") or not value[len(scheme) + 3:].strip("/"):
        raise ValueError(f"'{value}' is not a {scheme}:// URL naming a bucket: write {scheme}://bucket/path")
    try:
        import fsspec

        fsspec.get_filesystem_class(scheme)
    except ImportError:
        raise ValueError(f"reading {scheme}:// needs fsspec's file system for it, which is not installed: "
                         f"{OBJECT_STORES[scheme]}") from None
    return value


def _input_path_field(value: str) -> str:
    try:
        return input_path(value)
    except ValueError as e:
        raise PydanticCustomError("unsupported_url", str(e)) from None


# Object stores output.path and state.path may name (local engine, and the spark engine in local mode):
# written through s3fs and deltalake (dedup.night.remote), tested against an S3 API (moto). Other schemes
# keep local_path's refusal.
WRITABLE_STORES = ("s3", "s3a")


def store_path(value: str) -> str:
    """What ``output.path``/``state.path`` mean: an ``s3://``/``s3a://`` URL as it is (the local engine
    writes there, ``dedup.night.remote``), anything else as ``local_path``. Raises ValueError as
    ``input_path`` (the pip extra missing) and ``local_path``."""
    if url_scheme(value) in WRITABLE_STORES:
        value = input_path(value)
        try:
            import deltalake  # noqa: F401
        except ImportError:
            raise ValueError(f"writing {url_scheme(value)}:// needs the deltalake package: "
                             f"{OBJECT_STORES[url_scheme(value)]}") from None
        return value
    return local_path(value)


def _store_path_field(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    try:
        return store_path(value)
    except ValueError as e:
        raise PydanticCustomError("unsupported_url", str(e)) from None


def _local_path_field(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    try:
        return local_path(value)
    except ValueError as e:
        raise PydanticCustomError("unsupported_url", str(e)) from None


class InputSettings(_Strict):
    path: str = Field(description="A file, a directory or a glob of input files: a local path, a file:// URL, or "
                      "(local engine, or spark in local mode: copied to the driver's disk first) an object-store "
                      "URL s3://, gs://, abfs:// read through fsspec (pip install "
                      "'dedup[s3]' for S3; credentials from the store's usual environment/config chain). It may carry the "
                      "night: {run_date} (2026-11-26), {run_date:%Y/%m/%d} and strftime forms (%Y-%m-%d, %d.%m.%Y); "
                      "a literal % is %%, a literal brace {{ or }} (see night_path).")
    format: Literal["auto", "jsonl", "csv", "parquet", "text"] = Field(
        "auto",
        description="auto: by extension (.jsonl/.jsonl.gz/.json, .csv, .parquet, directory of .txt = text).",
    )
    fields: dict[str, str] = Field(
        default_factory=dict,
        description="Map of our field names (id, body, outlet, url, headline, published_at) to the feed's; a dotted "
        "path (outlet: source.name) reads nested JSON objects and Parquet structs (a key that itself holds the dots "
        "wins). CSV and text folders have no nesting: there the name is a column as written.",
    )
    outlet: Optional[str] = Field(
        None, description="Outlet for records that carry none (text folders default to the folder name)."
    )
    max_reject_ratio: float = Field(
        0.5, ge=0.0, le=1.0, description="Fail the run (exit 1) when more than this share of records is rejected."
    )
    same_input: Literal["fail", "warn", "allow"] = Field(
        "fail", description="When an input file's sha256 equals one recorded in another night's manifest (a rerun "
        "or backfill reading tonight's feed): fail (exit 1, nothing written), warn (written, with a check), or allow. "
        "--allow-same-input sets allow.")
    max_body_bytes: int = Field(
        2_000_000, gt=0, description="Bodies larger than this are rejected (a page dump, not a story)."
    )
    min_body_words: int = Field(1, ge=0, description="Bodies with fewer words after cleaning are rejected.")
    allow_empty: bool = Field(
        False, description="Accept a night that reads no records at all (exit 0, empty tables). Off by default: an "
        "empty feed is a failed delivery, so the night fails (exit 1) and writes nothing.")
    allow_truncated: bool = Field(
        False, description="Accept a file that ends early (a truncated gzip, an I/O error mid-file): keep the records "
        "read before the break and reject the rest of the file. Off by default: the night fails (exit 1).")
    min_volume_ratio: float = Field(
        0.2, ge=0.0, le=1.0,
        description="A night reading fewer records than this share of the median of the earlier nights of the "
        "state window (at least 3 of them, from their manifests) is low volume: see input.low_volume. 0 turns it off.")
    low_volume: Literal["fail", "warn"] = Field(
        "fail", description="fail: a low-volume night fails (exit 1) and writes nothing; warn: it is written, with a "
        "warning in the log, the manifest's checks and the report.")
    time_zones: dict[str, str] = Field(
        default_factory=dict,
        description="Zone abbreviations the feeds mean, as UTC offsets ({IST: '+05:30'}), for dates ending in a "
        "zone name. RFC 822 zones (GMT, EST, EDT, CST, ... PDT) and single-meaning ones (CET, CEST, JST, ...: "
        "dedup.stages.read.NAMED_ZONES) are known; an ambiguous name (IST, BST, AST) not listed here leaves the "
        "date unreadable (null, counted), never read in a guessed zone.",
    )

    _path = field_validator("path")(_input_path_field)

    @field_validator("time_zones")
    @classmethod
    def _offsets(cls, v: dict[str, str]) -> dict[str, str]:
        import re

        for name, off in v.items():
            if not re.fullmatch(r"[A-Za-z]{1,5}", name):
                raise ValueError(f"time zone name {name!r}: 1 to 5 letters")
            m = re.fullmatch(r"[+-](\d\d):?(\d\d)", off)
            if not m or int(m.group(1)) > 14 or int(m.group(2)) > 59:
                raise ValueError(f"time zone {name}: {off!r} is not a UTC offset like +05:30")
        return {k.upper(): v for k, v in v.items()}

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = set(v) - set(FIELD_NAMES)
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}; ours are {list(FIELD_NAMES)}")
        return v


FIELD_NAMES = ("id", "body", "outlet", "url", "headline", "published_at")


class OutputSettings(_Strict):
    path: str = Field(description="Root folder of the output datasets (stories/, clusters/, rejects/, runs/): "
                      "a local path, a file:// URL, or (local engine or spark in local mode, output.format: delta) an "
                      "s3:// URL "
                      "(pip install 'dedup[s3]'; credentials and AWS_ENDPOINT_URL from the usual AWS environment chain).")
    format: Literal["parquet", "delta"] = Field(
        "parquet", description="parquet: each table a folder of hive partitions (run_date=...), a night swapped in by "
        "renames (a POSIX file system). delta: each table a Delta Lake table partitioned by run_date, a night "
        "replaced in one transaction per table (deltalake; pip install 'dedup[delta]'); needed on object storage.")
    raw_max_chars: int = Field(2000, gt=0, description="Cap on the `raw` text kept for a reject.")
    vacuum_retention_hours: Optional[int] = Field(
        None, ge=0, description="output.format: delta only. After each night is published, delete the tables' "
        "files no version has referenced for more than this many hours (deltalake's VACUUM): a rerun's replaced "
        "files go once they are this old. null (default): never during a run; `dedup vacuum` does it on demand. "
        "Below 168 (Delta's default retention) a reader still on an older table version (a notebook, DuckDB, Spark) "
        "may lose files it was about to read; 0 is safe only when nobody reads during the run.")

    _path = field_validator("path")(_store_path_field)

    @model_validator(mode="after")
    def _vacuum_needs_delta(self) -> "OutputSettings":
        if self.vacuum_retention_hours is not None and self.format != "delta":
            raise ValueError("output.vacuum_retention_hours applies to output.format: delta only (parquet nights "
                             "replace their folders, leaving no old files)")
        return self


class StateSettings(_Strict):
    path: Optional[str] = Field(None, description="Where the job keeps memory between nights (a local path, a "
                                "file:// URL, or (local engine or spark in local mode) an s3:// URL: each night's "
                                "files then its manifest, "
                                "the commit point); default <output>/_state.")
    retention_days: int = Field(14, ge=0, description="How many nights of stories later nights are matched against.")

    _path = field_validator("path")(_store_path_field)


class ChromeSettings(_Strict):
    """Outlet chrome removal (see dedup/chrome.py)."""

    enabled: bool = True
    min_stories: int = Field(
        3, ge=2, description="A line is learned chrome of an outlet when it recurs in at least this many of its stories."
    )
    min_share: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="...and in at least this share of the outlet's stories in the batch, so that a big outlet "
        "that ran one wire report a few times over (updates) keeps its paragraphs.",
    )
    generic: bool = Field(True, description="Also drop the generic kinds (subscribe blurbs, 'Next Story', share bars).")


class DedupSettings(_Strict):
    """Similarity settings. Jaccard and containment are over sets of word shingles."""

    num_perm: int = Field(
        64, ge=16, le=1024,
        description="MinHash permutations; estimate error ~ 1/sqrt(num_perm). Only candidate generation uses the "
        "estimate (verification is exact), so 64 finds as many true pairs as 128 on the evaluation corpora, faster.",
    )
    shingle_size: int = Field(4, ge=1, le=12, description="Words per shingle.")
    seed: int = Field(1, ge=0, description="Seed of the MinHash permutations (as datasketch's `seed`).")
    threshold: float = Field(0.5, gt=0.0, le=1.0, description="Jaccard at or above which two copies are the same story.")
    containment_threshold: float = Field(
        0.8, gt=0.0, le=1.0, description="Containment of the shorter copy in the longer at or above which they match."
    )
    candidate_threshold: float = Field(
        0.2,
        gt=0.0,
        le=1.0,
        description="Jaccard the LSH bands are tuned for; low so truncated copies (small Jaccard, high containment) "
        "become candidates.",
    )
    short_words: int = Field(
        30, ge=0, description="Stories with fewer words are matched on exact normalized text, not on estimates."
    )
    rescue_containment: float = Field(
        0.5, ge=0.0, le=1.0,
        description="A story left alone joins a cluster whose member it matches when at least this share of it "
        "is contained in that cluster's canonical.",
    )
    max_bucket: int = Field(
        500, ge=2, description="LSH buckets larger than this are capped (with a warning): chrome that slipped through."
    )


class LanguageSettings(_Strict):
    """The ``language`` column of ``stories`` (``dedup.stages.language``)."""

    detect: bool = Field(True, description="Detect each story's language with py3langid's model (shipped in the "
                         "package); off: the column is null.")
    sample_chars: int = Field(300, ge=20, le=100_000, description="Characters from the start of the cleaned body "
                              "the detector reads.")
    labels: Optional[list[str]] = Field(None, description="Only these ISO 639 codes (of the model's 142) can be "
                                        "detected, e.g. the languages of the feeds; null: all.")


class RunSettings(_Strict):
    workers: int = Field(2, ge=1, le=64, description="Threads of the one dedup process (local engine): the pool "
                         "that reads, learns chrome and cleans chunks, and numba's threads for the compiled kernels "
                         "(fingerprint, LSH band keys, verification); HTML pages are extracted on as many worker processes.")
    chunk_size: int = Field(20_000, ge=100, description="Stories per chunk; bounds the text held in memory at once.")
    chunk_bytes: int = Field(64 << 20, ge=1 << 20, description="Input bytes per chunk at most (a chunk also ends at "
                             "chunk_size stories): bounds memory when records are large, such as whole HTML pages "
                             "(100-200 KB each: 20,000 of them are ~3.5 GB).")
    engine: Literal["local", "spark"] = Field(
        "local",
        description="local: this machine (threads, numba). spark: the same stages on Apache Spark DataFrames "
        "(needs pip install 'dedup[spark]'; see the spark section and README 'Running on Spark').",
    )
    allow_future: bool = Field(
        False, description="Accept a run date after tomorrow (UTC). Off by default: a far-off date makes every "
        "earlier night fall out of the state window.")


# Spark settings this job's users set most, from Spark 4's configuration page
# (https://spark.apache.org/docs/latest/configuration.html, running-on-yarn/-kubernetes). A key
# in spark.conf that is not here but nearly spells one of them is a typo (refused, with the key
# meant); any other key is passed to Spark as it is (Spark has hundreds; the session warns).
SPARK_KEYS = (
    "spark.app.name", "spark.master", "spark.submit.deployMode", "spark.submit.pyFiles",
    "spark.driver.memory", "spark.driver.memoryOverhead", "spark.driver.memoryOverheadFactor", "spark.driver.cores",
    "spark.driver.maxResultSize", "spark.driver.extraJavaOptions", "spark.driver.extraClassPath",
    "spark.driver.extraLibraryPath", "spark.driver.host", "spark.driver.bindAddress", "spark.driver.port",
    "spark.executor.memory", "spark.executor.memoryOverhead", "spark.executor.memoryOverheadFactor",
    "spark.executor.cores", "spark.executor.instances", "spark.executor.pyspark.memory",
    "spark.executor.extraJavaOptions", "spark.executor.extraClassPath", "spark.executor.extraLibraryPath",
    "spark.executor.heartbeatInterval", "spark.memory.fraction", "spark.memory.storageFraction",
    "spark.memory.offHeap.enabled", "spark.memory.offHeap.size", "spark.cores.max", "spark.default.parallelism",
    "spark.task.cpus", "spark.task.maxFailures", "spark.local.dir", "spark.network.timeout",
    "spark.serializer", "spark.kryoserializer.buffer.max", "spark.rpc.message.maxSize",
    "spark.dynamicAllocation.enabled", "spark.dynamicAllocation.minExecutors", "spark.dynamicAllocation.maxExecutors",
    "spark.dynamicAllocation.initialExecutors", "spark.dynamicAllocation.shuffleTracking.enabled",
    "spark.shuffle.service.enabled", "spark.speculation", "spark.eventLog.enabled", "spark.eventLog.dir",
    "spark.ui.enabled", "spark.ui.port", "spark.ui.showConsoleProgress", "spark.jars", "spark.jars.packages",
    "spark.files", "spark.archives", "spark.pyspark.python", "spark.pyspark.driver.python",
    "spark.python.worker.memory", "spark.python.worker.reuse",
    "spark.sql.shuffle.partitions", "spark.sql.adaptive.enabled", "spark.sql.adaptive.coalescePartitions.enabled",
    "spark.sql.adaptive.advisoryPartitionSizeInBytes", "spark.sql.autoBroadcastJoinThreshold",
    "spark.sql.files.maxPartitionBytes", "spark.sql.execution.arrow.pyspark.enabled",
    "spark.sql.execution.arrow.maxRecordsPerBatch", "spark.sql.session.timeZone",
    "spark.sql.parquet.outputTimestampType", "spark.sql.parquet.compression.codec", "spark.sql.sources.partitionOverwriteMode",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "spark.yarn.queue", "spark.kubernetes.namespace",
    "spark.kubernetes.container.image",
)
# A size as Spark reads it: a whole number and an optional unit, no space (8g, 512m, 2gb, 1024k).
_SIZE = re.compile(r"^[0-9]+(?:[kmgtp]b?|b)?$", re.IGNORECASE)
# The last part of the keys whose values are sizes (spark.driver.memory, spark.executor.memoryOverhead, ...).
_SIZE_KEYS = ("memory", "memoryOverhead", "maxResultSize")


def _is_size_key(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in _SIZE_KEYS or key == "spark.memory.offHeap.size"


def size_bytes(value: str) -> int:
    """Bytes of a Spark size (``8g``, ``512m``, ``2gb``); a bare number is MiB, as Spark reads memory
    settings. Raises ValueError when ``value`` is not such a size."""
    m = re.match(r"^([0-9]+)(?:([kmgtp])b?|(b))?$", str(value).strip().lower())
    if m is None:
        raise ValueError(f"'{value}' is not a size")
    unit = m.group(2) or ("b" if m.group(3) else "m")
    return int(m.group(1)) * 2 ** (10 * "bkmgtp".index(unit))


def _spark_conf(value):
    """``spark.conf`` as Spark takes it: every value a string. Unquoted YAML numbers and booleans are
    written the way Spark spells them (4 -> "4", true -> "true"); a size key must hold a size; a key
    that is a near-miss of a known one is refused with the key meant."""
    if not isinstance(value, dict):
        return value
    import difflib

    out = {}
    for key, v in value.items():
        key = str(key)
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, (int, float)):
            v = str(v)
        elif not isinstance(v, str):
            raise PydanticCustomError("spark_value", "'{key}' must be a string, a number or true/false, got {kind}",
                                      {"key": key, "kind": type(v).__name__})
        if not key.startswith("spark."):
            raise PydanticCustomError("spark_key", "'{key}' is not a Spark setting: Spark settings start with 'spark.' "
                                      "(Hadoop ones with 'spark.hadoop.')", {"key": key})
        if key not in SPARK_KEYS:
            near = [k for k in difflib.get_close_matches(key, SPARK_KEYS, n=3, cutoff=0.85) if abs(len(k) - len(key)) <= 2]
            if near:
                raise PydanticCustomError("spark_key", "unknown Spark setting '{key}': did you mean {near}?",
                                          {"key": key, "near": near[0]})
        if _is_size_key(key) and not _SIZE.match(v.strip()):
            raise PydanticCustomError(
                "spark_size", "'{key}' = '{v}' is not a size: write a whole number and a unit with no space, "
                "e.g. 8g or 512m (k, m, g, t)", {"key": key, "v": v})
        out[key] = v.strip() if _is_size_key(key) else v
    return out


def machine_memory_bytes() -> int:
    """Memory this process may use: physical RAM (``sysconf``), or the cgroup v2/v1 limit when lower
    (a container). 0 when neither can be read."""
    total = 0
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    for f in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            raw = Path(f).read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and 0 < int(raw) < (total or 2**62):
            total = int(raw)
    return total


# Share of the machine's memory the driver JVM gets in local mode when no spark.driver.memory is set.
# In local mode the driver JVM is the executor too; the other half is left to the Python workers
# (mapInArrow batches), the OS page cache and the machine's other work. Spark's own default (1g) runs
# out of heap on ~200k stories; the cap keeps compressed object pointers (below 32 GiB).
DRIVER_MEMORY_SHARE = 0.5
DRIVER_MEMORY_MAX_GB = 31


def default_driver_memory(total_bytes: int | None = None) -> str:
    """``spark.driver.memory`` for local mode when none is set: ``DRIVER_MEMORY_SHARE`` of
    ``total_bytes`` (default ``machine_memory_bytes()``) in whole GiB, at least 1g, at most
    ``DRIVER_MEMORY_MAX_GB``; "1g" (Spark's own default) when the memory cannot be read."""
    total = machine_memory_bytes() if total_bytes is None else total_bytes
    gb = int(total * DRIVER_MEMORY_SHARE // 2**30)
    return f"{max(1, min(DRIVER_MEMORY_MAX_GB, gb))}g"


def is_local_master(master: str | None) -> bool:
    """True for Spark's local mode (``local``, ``local[4]``, ``local[*]``, ``local[2,3]``; None is local[*])."""
    return master is None or master == "local" or master.startswith("local[")


class SparkSettings(_Strict):
    """Used only with ``run.engine: spark``. Under ``spark-submit``, the submitted ``--master``
    and ``--conf`` settings win; ``conf`` here fills in what they do not set, then the engine's
    own defaults (``dedup.night.spark.session``). ``spark.driver.memory``, when not set, is
    ``default_driver_memory()`` in local mode."""

    master: Optional[str] = Field(
        None, description="Spark master URL, e.g. local[2], yarn, k8s://...; under spark-submit its --master wins; "
        "default local[*].")
    app_name: str = Field("dedup", description="Spark application name.")
    partitions: int = Field(
        0, ge=0, description="Partitions for the story stages and shuffles; 0: Spark's default parallelism x 2.")
    conf: dict[str, str] = Field(default_factory=dict, description="Extra Spark settings (spark.executor.memory, ...): "
                                 "values are strings (unquoted numbers and true/false are taken as written); sizes are "
                                 "a number and a unit, e.g. 8g or 512m. spark.driver.memory defaults in local mode to "
                                 "half the machine's memory (at least 1g, at most 31g); under spark-submit it must be "
                                 "given to spark-submit (jobs/spark-submit.sh passes it).")
    max_rounds: int = Field(
        100, ge=1, description="Cap on the rounds of the distributed canonical choice (each round settles at least "
        "the best-ranked story left; real batches settle in a handful).")

    split_bytes: int = Field(
        64 << 20, ge=1024, description="An uncompressed JSONL file on local disk larger than this many bytes is read "
        "by several Spark tasks, one per byte range of this size (each line read by the range it starts in, numbered "
        "as in the whole file); default 64 MiB; a bucket's file copied to the driver's disk (local mode) too. "
        "Gzip, CSV, Parquet and text files: one task per file.")

    _conf = field_validator("conf", mode="before")(_spark_conf)


class Settings(_Strict):
    input: InputSettings
    output: OutputSettings
    state: StateSettings = Field(default_factory=StateSettings)
    chrome: ChromeSettings = Field(default_factory=ChromeSettings)
    dedup: DedupSettings = Field(default_factory=DedupSettings)
    language: LanguageSettings = Field(default_factory=LanguageSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    run_date: Optional[dt.date] = Field(None, description="Night to write; default yesterday (UTC): the day that "
                                        "just ended, as the wrapper, cron, systemd and the Airflow DAG take it.")
    # Set by dedup.night.remote for a run on object storage: the local folders standing in for them.
    _state_local: Optional[Path] = PrivateAttr(None)
    _output_local: Optional[Path] = PrivateAttr(None)

    @model_validator(mode="after")
    def _thresholds(self) -> "Settings":
        d = self.dedup
        if d.candidate_threshold > d.threshold:
            raise ValueError("dedup.candidate_threshold must not exceed dedup.threshold")
        return self

    @property
    def state_url(self) -> str:
        """The state's location as configured: a local path or an s3:// URL (default ``<output>/_state``)."""
        return self.state.path if self.state.path else self.output.path.rstrip("/") + "/_state"

    @property
    def state_path(self) -> Path:
        """The state as a local folder: the configured one, or for an object-store state the local
        copy a run works on (``dedup.night.remote``)."""
        if self._state_local is not None:
            return self._state_local
        return Path(self.state.path) if self.state.path else Path(self.output.path) / "_state"

    @property
    def output_root(self) -> Path:
        """The output as a local folder: ``output.path``, or for an object-store output the local
        folder a run stages in and mirrors earlier nights' manifests to (``dedup.night.remote``)."""
        return self._output_local if self._output_local is not None else Path(self.output.path)


def default_night(today: dt.date) -> dt.date:
    """The night a run without ``--run-date`` writes: yesterday (UTC), the day whose stories the
    nightly run after midnight processes; ``jobs/dedup-nightly.sh`` picks the same night."""
    return today - dt.timedelta(days=1)


def night_path(template: str, night: dt.date) -> str:
    """``input.path`` for one night: ``{run_date}`` and ``{run_date:FORMAT}`` (str.format with the night
    as a ``datetime.date``, FORMAT a strftime format) and strftime's ``%`` forms filled in.

    ``/data/feed/{run_date}/*.jsonl`` -> ``/data/feed/2026-11-26/*.jsonl``;
    ``/data/feed/%Y/%m/%d/*.jsonl.gz`` -> ``/data/feed/2026/11/26/*.jsonl.gz``. Glob characters are
    kept. A path with neither ``{`` nor ``%`` comes back unchanged. Raises ValueError (one line) for
    another placeholder or an unbalanced brace; a literal ``%`` is written ``%%``.
    """
    out = template
    if "{" in out or "}" in out:
        try:
            out = out.format(run_date=night)
        except (KeyError, IndexError, ValueError, AttributeError) as e:
            raise ValueError(f"'{template}': only {{run_date}} or {{run_date:%Y-%m-%d}} may be written in braces "
                             f"(a literal brace is {{{{ or }}}}): {type(e).__name__}: {e}") from None
    if "%" in out:
        out = night.strftime(out)
    return out


def _format_error(err: ValidationError) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "config"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; see README 'Configuration')"
    elif first["type"] == "missing":
        msg = "required key is missing"
    more = f" (and {len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"config key '{key}': {msg}{more}"


def load_config(
    path: str | Path | None = None,
    *,
    input: str | None = None,
    output: str | None = None,
    run_date: str | dt.date | None = None,
    overrides: dict | None = None,
) -> Settings:
    """Read a YAML config (optional), apply CLI-style overrides and validate.

    Relative paths in the file are taken relative to the current directory, as a
    scheduler's working directory is the usual anchor.
    """
    data: dict = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"config file {p} is not valid YAML: {str(e).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {p} must be a mapping of keys, got {type(data).__name__}")
    for k, v in (overrides or {}).items():
        _set_dotted(data, k, v)
    if input is not None:
        data.setdefault("input", {})["path"] = str(input)
    if output is not None:
        data.setdefault("output", {})["path"] = str(output)
    if run_date is not None:
        data["run_date"] = str(run_date)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_error(e)) from None
    today = dt.datetime.now(dt.timezone.utc).date()
    if settings.run_date is None:
        settings.run_date = default_night(today)
    if settings.run_date > today + dt.timedelta(days=1) and not settings.run.allow_future:
        raise ConfigError(
            f"run date {settings.run_date} is after tomorrow ({today + dt.timedelta(days=1)}, UTC): give the night "
            "the feed is for, or pass --allow-future (run.allow_future: true) for a deliberate test night")
    if (settings.run.engine == "spark" and is_object_store(settings.input.path)
            and not is_local_master(settings.spark.master)):
        # A local master reads a bucket input from a copy on the driver's disk (dedup.night.spark.engine);
        # a cluster's executors read input files by path with our reader, not through Hadoop's file systems.
        raise ConfigError(spark_store_refusal("input.path", url_scheme(settings.input.path), settings.spark.master))
    _check_store_output(settings)
    try:
        # The night's own feed: a scheduler passes only the night (--run-date), the path follows it.
        settings.input.path = night_path(settings.input.path, settings.run_date)
    except ValueError as e:
        raise ConfigError(f"config key 'input.path': {e}") from None
    return settings


def spark_store_refusal(key: str, scheme: str, master: str | None) -> str:
    """The one line refusing an object-store path with the Spark engine on a cluster master (not
    ``is_local_master``): what dedup does in local mode, and what a cluster would need."""
    return (f"config key '{key}': {scheme}:// with run.engine: spark needs a local master (spark.master: local[*], "
            f"not {master}): dedup copies such a night between the bucket and the driver's disk, which a cluster's "
            "executors do not see; a cluster needs its own Hadoop connector (hadoop-aws on the classpath, EMRFS, the "
            "GCS connector), which dedup does not use yet, so there the night is run with paths every node sees (the "
            "bucket mounted on every node); or use run.engine: local")


def _check_store_output(settings: Settings) -> None:
    """Refuse, before any work, an object-store output or state the run cannot commit safely: with
    the Spark engine on a cluster master (a local master's night is staged on the driver's disk and
    published by ``dedup.night.remote`` as the local engine's), or as parquet (no atomic rename on
    object storage). Raises ConfigError (one line)."""
    spark_cluster = settings.run.engine == "spark" and not is_local_master(settings.spark.master)
    for key, value in (("output.path", settings.output.path), ("state.path", settings.state.path or "")):
        scheme = url_scheme(value)
        if scheme not in WRITABLE_STORES:
            continue
        if spark_cluster:
            raise ConfigError(spark_store_refusal(key, scheme, settings.spark.master))
        if key == "output.path" and settings.output.format != "delta":
            raise ConfigError(
                f"config key 'output.format': parquet output cannot be committed on {scheme}:// (object storage has no "
                "atomic rename, readers could see half a night): set output.format: delta")
    if spark_cluster and settings.output.format == "delta":
        # The driver writes the Delta tables from the staged part files: tested in local mode only.
        raise ConfigError(f"config key 'output.format': delta with run.engine: spark needs a local master "
                          f"(spark.master: local[*], not {settings.spark.master}): the driver publishes the tables "
                          "from its own disk, tested in local mode only; use output.format: parquet on a cluster")


def _set_dotted(data: dict, key: str, value) -> None:
    node = data
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
