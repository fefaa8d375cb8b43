"""dedup/config.py: the shipped prod config is the file of defaults, and input.path carries the night."""
import datetime as dt

import pytest
import yaml

from dedup.config import ConfigError, Settings, load_config, night_path
from tests.conftest import ROOT


def test_prod_yaml_shows_every_key_with_its_default():
    """docs call configs/prod.yaml the file of defaults: apart from the two required paths, every
    key it sets equals dedup.config's default and no key is missing (a field mapping there made
    every standard feed fail 'missing id (field guid)')."""
    shipped = yaml.safe_load((ROOT / "configs" / "prod.yaml").read_text())
    defaults = Settings.model_validate({"input": {"path": "x"}, "output": {"path": "y"}}).model_dump(mode="json")

    def keys(d, prefix=""):
        out = {}
        for k, v in d.items():
            if isinstance(v, dict) and v and k not in ("fields", "conf"):
                out.update(keys(v, f"{prefix}{k}."))
            else:
                out[prefix + k] = v
        return out

    a, b = keys(shipped), keys(defaults)
    required = {"input.path", "output.path"}
    assert set(a) - required == set(b) - required - {"run_date"}
    assert {k: a[k] for k in a if k not in required} == {k: b[k] for k in a if k not in required}
    assert "{run_date}" in a["input.path"]


@pytest.mark.parametrize("template, expected", [
    ("/data/feed/{run_date}/*.jsonl", "/data/feed/2026-03-07/*.jsonl"),
    ("/data/feed/%Y-%m-%d/*.jsonl", "/data/feed/2026-03-07/*.jsonl"),
    ("/data/feed/{run_date:%Y/%m/%d}/[ab]*.jsonl.gz", "/data/feed/2026/03/07/[ab]*.jsonl.gz"),
    ("/data/feed/%Y%m%d.csv", "/data/feed/20260307.csv"),
    ("/data/100%%/{{raw}}/x.jsonl", "/data/100%/{raw}/x.jsonl"),
    ("/data/feed/latest/*.jsonl", "/data/feed/latest/*.jsonl"),
])
def test_night_path_fills_in_the_night(template, expected):
    assert night_path(template, dt.date(2026, 3, 7)) == expected


@pytest.mark.parametrize("bad", ["/data/{date}/x.jsonl", "/data/{run_date/x.jsonl", "/data/{0}/x"])
def test_night_path_refuses_other_placeholders_naming_the_key(bad):
    with pytest.raises(ConfigError, match=r"config key 'input.path'.*\{run_date\}"):
        load_config(None, input=bad, output="o", run_date="2026-03-07")


# -- spark.conf: values Spark takes, typos named --------------------------------------------------

def _spark_conf(conf: dict) -> dict:
    return load_config(input="x", output="y", overrides={"spark.conf": conf}).spark.conf


@pytest.mark.parametrize("bad", ["8 GB", "yes please", "8.5g", "-1g", ""])
def test_spark_memory_value_that_is_not_a_size_is_one_line_naming_the_form(bad):
    with pytest.raises(ConfigError) as e:
        _spark_conf({"spark.driver.memory": bad})
    msg = str(e.value)
    assert "\n" not in msg and "spark.driver.memory" in msg and "8g or 512m" in msg


@pytest.mark.parametrize("good", ["8g", "512m", "2gb", "1024", "4G"])
def test_spark_memory_sizes_spark_reads_are_accepted(good):
    assert _spark_conf({"spark.executor.memory": good}) == {"spark.executor.memory": good}


def test_spark_key_typo_is_refused_with_the_key_meant():
    with pytest.raises(ConfigError, match=r"spark\.driver\.memroy.*did you mean spark\.driver\.memory\?"):
        _spark_conf({"spark.driver.memroy": "8g"})
    with pytest.raises(ConfigError, match=r"did you mean spark\.sql\.shuffle\.partitions\?"):
        _spark_conf({"spark.sql.shuffle.partitons": "64"})
    with pytest.raises(ConfigError, match="start with 'spark.'"):
        _spark_conf({"driver.memory": "8g"})


def test_spark_keys_not_near_a_known_one_pass_through():
    """Spark has hundreds of settings: a longer relative of a known key is not a typo of it."""
    conf = {"spark.executor.memoryOverheadFactor": "0.2", "spark.hadoop.fs.s3a.endpoint": "http://x",
            "spark.sql.files.openCostInBytes": "4194304"}
    assert _spark_conf(conf) == conf


def test_unquoted_numbers_and_booleans_are_taken_as_spark_writes_them():
    got = _spark_conf({"spark.executor.cores": 4, "spark.memory.fraction": 0.6, "spark.ui.enabled": True})
    assert got == {"spark.executor.cores": "4", "spark.memory.fraction": "0.6", "spark.ui.enabled": "true"}


def test_unquoted_number_in_a_yaml_file_is_accepted(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("input: {path: x}\noutput: {path: y}\nspark:\n  conf:\n    spark.executor.cores: 4\n"
                   "    spark.driver.memory: 6g\n")
    assert load_config(cfg).spark.conf == {"spark.executor.cores": "4", "spark.driver.memory": "6g"}


def test_size_bytes_reads_spark_units():
    from dedup.config import size_bytes

    assert [size_bytes(v) for v in ("8g", "512m", "2gb", "1024", "10b", "3k")] == \
        [8 * 2**30, 512 * 2**20, 2 * 2**30, 1024 * 2**20, 10, 3 * 2**10]
    with pytest.raises(ValueError):
        size_bytes("8 GB")


@pytest.mark.parametrize("total_gib, expected", [(0, "1g"), (1, "1g"), (3, "1g"), (16, "8g"), (23.4, "11g"), (256, "31g")])
def test_default_driver_memory_is_half_the_machine_within_bounds(total_gib, expected):
    from dedup.config import default_driver_memory

    assert default_driver_memory(int(total_gib * 2**30)) == expected
