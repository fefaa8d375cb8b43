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
