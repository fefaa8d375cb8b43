"""dedup/night/staging.py: output files written as the readers expect them."""
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dedup.night import staging
from dedup.schemas import STORIES_SCHEMA


def _table(n):
    rng = np.random.default_rng(3)
    t = pa.table({"story_id": [f"s{i:05d}" for i in range(n)], "outlet": [f"o{i % 3}" for i in range(n)],
                  "words": pa.array(rng.integers(0, 900, n))})
    return pa.Table.from_batches(t.to_batches(max_chunksize=4))  # many chunks, as the write stage's tables


def test_a_table_written_in_an_order_reads_back_in_that_order(tmp_path, monkeypatch):
    monkeypatch.setattr(staging, "WRITE_SLICE", 5)  # several slices, and a last one cut short
    t = _table(23)
    schema = pa.schema([STORIES_SCHEMA.field("story_id"), STORIES_SCHEMA.field("outlet"), ("words", pa.int64())])
    order = pa.array(np.random.default_rng(1).permutation(23))
    staging.write_table(t, tmp_path / "x.parquet", schema, order)
    back = pq.read_table(tmp_path / "x.parquet")
    assert back.equals(t.take(order).cast(schema))
    assert pq.ParquetFile(tmp_path / "x.parquet").metadata.num_row_groups == 5
    staging.write_table(t.slice(0, 0), tmp_path / "empty.parquet", schema, pa.array([], pa.int64()))
    assert pq.read_table(tmp_path / "empty.parquet").num_rows == 0


def test_only_columns_of_few_values_are_dictionary_encoded(tmp_path):
    """Ids, texts and hashes are written plain: a dictionary on them is work thrown away."""
    t = _table(50)
    schema = pa.schema([STORIES_SCHEMA.field("story_id"), STORIES_SCHEMA.field("outlet"), ("words", pa.int64())])
    staging.write_table(t, tmp_path / "x.parquet", schema)
    rg = pq.ParquetFile(tmp_path / "x.parquet").metadata.row_group(0)
    enc = {rg.column(i).path_in_schema: rg.column(i).encodings for i in range(rg.num_columns)}
    assert "RLE_DICTIONARY" in enc["outlet"]
    assert "RLE_DICTIONARY" not in enc["story_id"] and "RLE_DICTIONARY" not in enc["words"]
    assert pq.read_table(tmp_path / "x.parquet").equals(t.cast(schema))


def test_a_spilled_table_is_read_from_its_file_not_held_in_memory(tmp_path):
    """Rejects are kept this way until the write stage: their bytes leave Arrow's memory pool."""
    raw = pa.array([f"record {i} " + "x" * 2000 for i in range(2000)])  # ~4 MB
    t = pa.table({"record": pa.array(np.arange(2000)), "raw": raw})
    expected = t.slice(0, 5).to_pylist()
    before = pa.total_allocated_bytes()
    back = staging.spilled(t, tmp_path / "rejects.arrow")
    del t, raw
    assert pa.total_allocated_bytes() < before - 4_000_000
    assert back.num_rows == 2000 and back.slice(0, 5).to_pylist() == expected
    empty = pa.table({"record": pa.array([], pa.int64())})
    assert staging.spilled(empty, tmp_path / "none.arrow") is empty and not (tmp_path / "none.arrow").exists()
