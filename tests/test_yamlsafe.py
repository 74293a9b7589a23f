"""explorer.repo.yamlsafe: every real YAML file loads; hostile tags never execute anything."""
from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import pytest
import yaml

from explorer.repo.errors import BadFileError, ExplorerError
from explorer.repo.yamlsafe import TaggedDict, TaggedList, load_yaml


def _real_yaml_files(real_dir: Path) -> list[Path]:
    return sorted(p for p in real_dir.rglob("*.yaml"))


@pytest.mark.real
def test_every_real_yaml_loads(real_dir):
    files = _real_yaml_files(real_dir)
    assert len(files) >= 11
    for path in files:
        data = load_yaml(path)
        assert isinstance(data, (dict, list)), path
        assert len(data) > 0, path


@pytest.mark.real
def test_plain_yaml_matches_safe_load(real_dir):
    """Files without custom tags must load exactly as yaml.safe_load loads them."""
    checked = 0
    for path in _real_yaml_files(real_dir):
        text = path.read_text()
        if re.search(r"(^|[\s\[{,:-])!", text):
            # a custom tag: covered elsewhere (and lsst.daf.butler, once imported, registers
            # constructors for its own tags on yaml.SafeLoader, so safe_load is no truth for them)
            continue
        truth = yaml.safe_load(text)
        assert load_yaml(path) == truth, path
        checked += 1
    assert checked >= 5


@pytest.mark.real
def test_gen2_repository_cfg(real_dir):
    path = real_dir / "lsst_obs_lsst" / "data" / "input" / "imsim" / "CALIB" / "repositoryCfg.yaml"
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(path.read_text())
    cfg = load_yaml(path)
    assert isinstance(cfg, TaggedDict) and cfg.yaml_tag == "!RepositoryCfg_v1"
    assert cfg["_mapper"] == "lsst.obs.lsst.imsim.ImsimMapper"  # the !!python/name: tag's name
    parent = cfg["_parents"][0]
    assert parent.yaml_tag == "!RepositoryCfg_v1"
    assert parent["_root"].endswith("obs_lsst/data/input/imsim")
    assert parent["_mapper"] == "lsst.obs.lsst.imsim.ImsimMapper"  # the anchor *id001 is resolved
    assert cfg["dirty"] is True and cfg["_root"] is None


@pytest.mark.real
def test_gen2_policy_object_is_plain_data(real_dir):
    cfg = load_yaml(real_dir / "lsst_obs_test" / "tests" / "policyTest" / "a" / "repositoryCfg.yaml")
    policy = cfg["_policy"]
    assert isinstance(policy, TaggedDict)
    assert policy.yaml_tag == "tag:yaml.org,2002:python/object:lsst.daf.persistence.policy.Policy"
    assert policy["data"]["exposures"]["raw"]["template"] == "raw/v%(visit)d_f%(filter)s.fits.gz"
    plain = load_yaml(real_dir / "lsst_obs_test" / "data" / "calexpMetadataObjectsTest" / "repositoryCfg.yaml")
    assert plain["_mapper"] == "lsst.obs.test.MapperForTestCalexpMetadataObjects"


@pytest.mark.real
def test_task_metadata_property_set(real_dir):
    path = next((real_dir / "lsst_obs_lsst" / "data" / "input" / "phosim").rglob("processCcdMetadata_*.yaml"))
    data = load_yaml(path)
    assert getattr(data, "yaml_tag", "") == "lsst.daf.base.PropertySet"
    text = repr(data)
    assert "runStartUtc" in text and "calibrate" in text


@pytest.mark.real
def test_butler_export_times(real_dir):
    data = load_yaml(real_dir / "lsst_ci_imsim" / "resources" / "external.yaml")
    assert data["description"] == "Butler Data Repository Export"
    assert str(data["version"]) == "1.0.1"
    found = []

    def walk(node):
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and node[:2] in ("19", "20") and node.endswith(":00.000000000"):
            found.append(node)

    walk(data)
    # the !butler_time/tai/iso scalars of the validity ranges came back as their strings
    assert "1994-08-17 00:00:00.000000000" in found and "2049-05-18 00:00:00.000000000" in found
    types = {d["name"]: d.get("storage_class") for d in data["data"] if d.get("type") == "dataset_type"}
    assert types["truth_summary"] == "DataFrame"


# ------------------------------------------------------------------------------------------------
# hostile input
# ------------------------------------------------------------------------------------------------
def test_python_object_apply_does_not_execute(tmp_path):
    marker = tmp_path / "pwned"
    text = f'!!python/object/apply:os.system ["touch {marker}"]'
    result = load_yaml(text)
    assert result == [f"touch {marker}"] and isinstance(result, TaggedList)
    assert not marker.exists()
    for tag in ("!!python/object/new:os.system", "!!python/object/apply:subprocess.check_output",
                "!!python/object:os._wrap_close"):
        load_yaml(f'x: {tag} ["touch {marker}"]' if "object:" not in tag else f"x: {tag} {{a: 1}}")
        assert not marker.exists()


def test_python_name_and_module_do_not_import():
    data = load_yaml("a: !!python/name:this_module_does_not_exist.Thing ''\n"
                     "b: !!python/module:another_missing_module ''\n")
    assert data == {"a": "this_module_does_not_exist.Thing", "b": "another_missing_module"}


def test_unknown_tags_keep_scalars_and_builtin_types():
    data = load_yaml("t: !butler_time/tai/iso '2020-01-01T00:00:00'\n"
                     "d: 2022-01-01\n"
                     "n: 3\n"
                     "m: !<lsst.daf.base.PropertyList> {a: [1, 2]}\n")
    assert data["t"] == "2020-01-01T00:00:00"
    assert data["d"] == datetime.date(2022, 1, 1) and data["n"] == 3
    assert data["m"] == {"a": [1, 2]} and data["m"].yaml_tag == "lsst.daf.base.PropertyList"


def test_recursive_anchor_under_unknown_tag():
    data = load_yaml("&a !Thing {self: *a, v: 1}")
    assert data["v"] == 1 and data["self"] is data


@pytest.mark.parametrize("text", [
    "a: [1, 2\n",  # unclosed flow sequence
    "a: b: c\n",  # mapping value not allowed here
    "? [1, 2]\n: x\n" * 1 + "? {a: 1}\n: y\n",  # an unhashable mapping key
    "[" * 5000 + "]" * 5000,  # absurd nesting
    "--- 1\n--- 2\n",  # two documents
], ids=["unclosed", "bad-mapping", "unhashable-key", "deep-nesting", "two-documents"])
def test_malformed_yaml_raises_one_line_error(text):
    with pytest.raises(ExplorerError) as err:
        load_yaml(text)
    assert isinstance(err.value, BadFileError) and "\n" not in str(err.value)


def test_path_inputs(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text("root: !RepositoryCfg_v1 {x: 1}\n")
    assert load_yaml(path)["root"]["x"] == 1
    assert load_yaml(str(path))["root"]["x"] == 1
    assert load_yaml(b"a: 1") == {"a": 1}
    with pytest.raises(BadFileError, match="no such YAML file"):
        load_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n")
    with pytest.raises(BadFileError, match=rf"{os.path.basename(bad)}.*line"):
        load_yaml(bad)
