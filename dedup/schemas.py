"""Every table's columns, written once: the output tables (a contract: README "Output tables"),
the rejects, and the state files. The Spark engine derives its DDL strings from these
(``spark_ddl``), so the two engines cannot disagree on a column or a type.

Add columns freely; never rename or remove a contract column (``story_id``, ``outlet``, ``url``,
``headline``, ``published_at``, ``cluster_id``, ``is_canonical``, ``similarity``, ``body_clean`` in
``stories``; every ``clusters`` and ``rejects`` column).
"""
from __future__ import annotations

import pyarrow as pa

UTC_US = pa.timestamp("us", tz="UTC")

STORIES_SCHEMA = pa.schema(
    [
        ("story_id", pa.string()),
        ("outlet", pa.string()),
        ("url", pa.string()),
        ("headline", pa.string()),
        ("published_at", UTC_US),
        ("cluster_id", pa.string()),
        ("is_canonical", pa.bool_()),
        ("similarity", pa.float64()),
        ("body_clean", pa.large_string()),
        # Extensions beyond the contract.
        ("containment", pa.float64()),
        ("relation", pa.string()),
        ("agency", pa.string()),
        ("dateline", pa.string()),
        # ISO 639 code of the story's language (py3langid; "zxx": no linguistic content), null when not detected.
        ("language", pa.string()),
        ("canonical_story_id", pa.string()),
        ("words", pa.int64()),
        ("chrome_lines_removed", pa.int64()),
        ("was_html", pa.bool_()),
        ("source", pa.string()),
        ("record", pa.int64()),
        # Which path produced body_clean's text: "text" (not markup) or an HTML path
        # (``dedup.stages.text.html.SOURCES``: html:precision, html:recall, html:fragment, ...).
        ("body_source", pa.string()),
        # Where published_at came from: "feed", "page:html" (the page's metadata, htmldate), "page:text"
        # (a date line of a text page); null when no date was found (``dedup.stages.text.pagedate``).
        ("published_at_source", pa.string()),
    ]
)

CLUSTERS_SCHEMA = pa.schema(
    [
        ("cluster_id", pa.string()),
        ("canonical_story_id", pa.string()),
        ("headline", pa.string()),
        ("body", pa.large_string()),
        ("size", pa.int64()),
        ("outlets", pa.list_(pa.string())),
        ("story_ids", pa.list_(pa.string())),
        ("first_published_at", UTC_US),
        ("last_published_at", UTC_US),
        ("agency", pa.string()),
        ("canonical_reason", pa.string()),
    ]
)

REJECT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("record", pa.int64()),
        ("story_id", pa.string()),
        ("reason", pa.string()),
        ("raw", pa.string()),
    ]
)

# State files (``dedup.night.state``).
CANONICALS_SCHEMA = pa.schema(
    [
        ("cluster_id", pa.string()),
        ("story_id", pa.string()),
        ("headline", pa.string()),
        ("body", pa.large_string()),
        ("agency", pa.string()),
        ("published_at", UTC_US),
        ("words", pa.int64()),
        ("text_hash", pa.uint64()),
        ("headline_hash", pa.uint64()),
        ("signature", pa.list_(pa.uint32())),
        ("shingles", pa.large_list(pa.uint32())),
        ("night", pa.string()),
    ]
)
MEMBERS_SCHEMA = pa.schema(
    [
        ("cluster_id", pa.string()),
        ("story_id", pa.string()),
        ("outlet", pa.string()),
        ("published_at", UTC_US),
    ]
)
CHROME_COUNTS_SCHEMA = pa.schema([("key", pa.uint64()), ("stories", pa.int64())])
# Report sketches per chrome key (``dedup.stages.chrome.ReportSets``): values are below 2**63.
CHROME_REPORTS_SCHEMA = pa.schema([("key", pa.uint64()), ("q", pa.int32()), ("value", pa.int64())])
OUTLETS_SCHEMA = pa.schema([("outlet", pa.string()), ("stories", pa.int64())])
CHROME_LINES_SCHEMA = pa.schema([("outlet", pa.string()), ("line", pa.string()), ("stories", pa.int64())])


def _spark_type(t: pa.DataType) -> str:
    # Spark has no unsigned integers: uint64 hashes travel as long with the same bits.
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_floating(t):
        return "double"
    if pa.types.is_int32(t) or pa.types.is_int16(t) or pa.types.is_int8(t):
        return "int"
    if pa.types.is_integer(t):
        return "long"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array<{_spark_type(t.value_type)}>"
    raise TypeError(f"no Spark type for {t}")


def spark_ddl(schema: pa.Schema, *, overrides: dict[str, str] | None = None, extra: str = "") -> str:
    """A Spark DDL string (``"a string, b long"``) for ``schema``.

    ``overrides`` gives a column another Spark type (the engine packs uint32 lists as ``binary``);
    ``extra`` is appended as more columns. Raises ``TypeError`` for a type Spark cannot hold."""
    overrides = overrides or {}
    cols = [f"{f.name} {overrides.get(f.name, _spark_type(f.type))}" for f in schema]
    return ", ".join(cols + ([extra] if extra else []))


# Columns with few distinct values (outlets, agencies, codes), the only ones worth Parquet's
# dictionary encoding. pyarrow's default encodes every column so until its dictionary outgrows a
# page: on ids, texts and above all the hash lists (signature, shingles) that is work thrown away,
# 2.9x the time of writing canonicals.parquet and a larger file (docs/speed.md, session 12).
LOW_CARDINALITY = frozenset({"outlet", "outlets", "agency", "relation", "language", "source", "body_source",
                             "published_at_source", "reason", "canonical_reason", "night", "dateline"})


def parquet_dictionary(schema: pa.Schema) -> list[str]:
    """The columns of ``schema`` to write dictionary-encoded (``pq.write_table(use_dictionary=...)``)."""
    return [f.name for f in schema if f.name in LOW_CARDINALITY]
