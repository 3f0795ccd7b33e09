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

from batchgen.models import schema as modelschema

ROOT = Path(__file__).resolve().parents[2]


def rules(**params) -> tuple[str, ...]:
    return tuple(problem.message for problem in modelschema.rule_problems(params))


@pytest.mark.parametrize("name", [modelschema.MODEL_SCHEMA, modelschema.MANIFEST_SCHEMA])
def test_the_shipped_schemas_are_valid_draft_2020_12(name):
    schema = modelschema.load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_the_model_validator_is_built_once():
    assert modelschema.model_validator() is modelschema.model_validator()


def test_the_defaults_come_from_the_schema():
    assert modelschema.param_defaults() == {"duration": "5s", "resolution": "720p",
                                            "aspectRatio": "16:9", "loop": False, "hdr": False}


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
    (problem,) = modelschema.rule_problems(params)
    assert problem.field == field


@pytest.mark.parametrize("params", [{"hdr": True, "resolution": "1080p"},
                                    {"duration": "10s", "resolution": "540p"},
                                    {"startFrame": "a", "endFrame": "b", "loop": True}])
def test_valid_combinations_pass(params):
    assert rules(**params) == ()


def test_the_prompt_is_required_and_bounded_by_the_schema():
    validator = modelschema.model_validator()
    assert not validator.is_valid({"duration": "5s"})
    assert validator.is_valid({"prompt": "x" * 6000}) and not validator.is_valid({"prompt": "x" * 6001})
    assert modelschema.prompt_problem("   ") == "the prompt is empty"
    assert modelschema.prompt_problem("x" * 6001) == ("the prompt is 6,001 characters long; "
                                                      "Luma Ray 3.2 takes at most 6,000")


def test_the_manifest_schema_refers_to_the_model_schema_for_values():
    validator = modelschema.validator(modelschema.MANIFEST_SCHEMA)
    assert validator.is_valid({"version": 1, "prompts": ["x"], "defaults": {"resolution": "1080p"}})
    assert not validator.is_valid({"version": 1, "prompts": ["x"], "defaults": {"resolution": "4k"}})


def test_every_example_manifest_matches_the_manifest_schema():
    import yaml
    validator = modelschema.validator(modelschema.MANIFEST_SCHEMA)
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
    assert "batchgen/schemas/luma-ray-3-2.schema.json" in names
    assert "batchgen/schemas/manifest.schema.json" in names
    for name in ("luma-ray-3-2.schema.json", "manifest.schema.json"):
        shipped = json.loads(zipfile.ZipFile(wheel).read(f"batchgen/schemas/{name}"))
        assert shipped == modelschema.load_schema(name)
