"""The shipped schemas: Luma Ray 3.2's rules, the manifest format, and how errors read."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from batchgen.models import catalog
from batchgen.models import schema as modelschema

ROOT = Path(__file__).resolve().parents[2]
LUMA = catalog.shipped()[catalog.DEFAULT_MODEL]
LUMA_FILE = "models/model_luma-ray-3-2.schema.json"


def rules(**params) -> tuple[str, ...]:
    return tuple(problem.message for problem in LUMA.rule_problems(params))


@pytest.mark.parametrize("name", [LUMA_FILE, modelschema.MANIFEST_SCHEMA])
def test_the_shipped_schemas_are_valid_draft_2020_12(name):
    schema = modelschema.load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_the_shipped_models_are_the_files_in_schemas_models():
    assert list(catalog.shipped()) == [p.name.removesuffix(".schema.json") for p in
                                       sorted((ROOT / "schemas" / "models").glob("*.schema.json"))]
    assert LUMA.name == "Luma Ray 3.2" and LUMA.schema == modelschema.load_schema(LUMA_FILE)


def test_the_model_validator_is_built_once():
    assert LUMA.validator is LUMA.validator


def test_the_defaults_come_from_the_schema():
    assert LUMA.defaults() == {"duration": "5s", "resolution": "720p",
                               "aspectRatio": "16:9", "loop": False, "hdr": False}
    assert LUMA.asset_params == ("startFrame", "endFrame")


@pytest.mark.parametrize("params,expected", [
    ({"duration": "10s", "loop": True}, "10s is not available with loop"),
    ({"duration": "10s", "hdr": True}, "10s is not available with hdr"),
    ({"duration": "10s", "startFrame": "asset_1"}, "10s is not available with a startFrame"),
    ({"duration": "10s", "startFrame": "asset_1", "endFrame": "asset_2"},
     "10s is not available with an endFrame"),
    ({"hdr": True, "resolution": "540p"}, "hdr needs resolution 720p or 1080p"),
    ({"endFrame": "asset_2"}, "endFrame needs a startFrame: set startFrame too, or drop endFrame"),
    ({"duration": 5}, "duration must be 5s or 10s, not the number 5"),
    ({"resolution": "4k"}, "resolution must be 540p, 720p or 1080p, not 4k"),
    ({"aspectRatio": "2:1"}, "aspectRatio must be 9:16, 3:4, 1:1, 4:3, 16:9 or 21:9, not 2:1"),
    ({"loop": "yes"}, "loop must be true or false, not yes"),
])
def test_each_model_rule_reads_as_a_sentence(params, expected):
    assert expected in rules(**params)


@pytest.mark.parametrize("params,field", [
    ({"duration": "10s", "loop": True}, "loop"),
    ({"duration": "10s", "startFrame": "asset_1"}, "startFrame"),
    ({"hdr": True, "resolution": "540p"}, "resolution"),
    ({"endFrame": "asset_2"}, "endFrame"),
    ({"resolution": "4k"}, "resolution"),
])
def test_each_broken_rule_names_the_parameter_to_change(params, field):
    (problem,) = LUMA.rule_problems(params)
    assert problem.field == field


@pytest.mark.parametrize("params", [{"hdr": True, "resolution": "1080p"},
                                    {"duration": "10s", "resolution": "540p"},
                                    {"startFrame": "a", "endFrame": "b", "loop": True}])
def test_valid_combinations_pass(params):
    assert rules(**params) == ()


def test_the_prompt_is_required_and_bounded_by_the_schema():
    validator = LUMA.validator
    assert not validator.is_valid({"duration": "5s"})
    assert validator.is_valid({"prompt": "x" * 6000}) and not validator.is_valid({"prompt": "x" * 6001})
    assert LUMA.prompt_problem("   ") == "the prompt is empty"
    assert LUMA.prompt_problem("x" * 6001) == ("the prompt is 6,001 characters long; "
                                                      "Luma Ray 3.2 takes at most 6,000")


def test_the_manifest_schema_takes_its_parameters_from_the_model_schema():
    validator = catalog.default_set().validator()
    assert validator.is_valid({"version": 1, "prompts": ["x"], "defaults": {"resolution": "1080p"}})
    assert not validator.is_valid({"version": 1, "prompts": ["x"], "defaults": {"resolution": "4k"}})
    built = modelschema.manifest_schema((LUMA,))
    for where in (built["$defs"]["params"], built["$defs"]["promptMapping"],
                  built["$defs"]["combination"]):
        for name in LUMA.params:
            assert where["properties"][name] == LUMA.properties[name]
    for name in LUMA.params:
        assert built["$defs"]["matrix"]["properties"][name]["items"] == LUMA.properties[name]


def test_the_manifest_schema_file_names_no_model_parameter():
    text = (ROOT / "schemas" / modelschema.MANIFEST_SCHEMA).read_text()
    assert not [name for name in LUMA.params if f'"{name}"' in text]


def test_every_example_manifest_matches_the_manifest_schema():
    import yaml
    validator = catalog.default_set().validator()
    for path in sorted((ROOT / "manifests").glob("*.yaml")):
        assert validator.is_valid(yaml.safe_load(path.read_text())), path


def test_a_built_wheel_carries_the_schemas(tmp_path):
    source = tmp_path / "src"  # a copy: building writes build/ and egg-info next to the sources
    for folder in ("batchgen", "schemas"):
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path), str(source)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("batchgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "batchgen/schemas/models/model_luma-ray-3-2.schema.json" in names
    assert "batchgen/schemas/manifest.schema.json" in names
    for name in (LUMA_FILE, "manifest.schema.json"):
        shipped = json.loads(zipfile.ZipFile(wheel).read(f"batchgen/schemas/{name}"))
        assert shipped == modelschema.load_schema(name)
    # Every package of the source tree ships: a new folder missing from pyproject's list
    # works in an editable install and fails only in CI's `pip install .`.
    modules = {str(path.relative_to(ROOT)) for path in (ROOT / "batchgen").rglob("*.py")}
    assert modules <= set(names), sorted(modules - set(names))
