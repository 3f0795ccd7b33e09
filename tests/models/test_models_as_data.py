"""Models are data: a model batchgen does not ship works once its schema file lies in
`models/` beside the manifest, with no code change: validation, the simulator, the
estimate, `schema check`, and a sweep across two models with `model` as a matrix axis."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import anyio
import httpx
import pytest

from batchgen.cli import main
from batchgen.errors import ManifestError
from batchgen.manifest.load import load_batch
from batchgen.models import catalog
from batchgen.models.drift import compare
from batchgen.simulator import Simulator

FIXTURE = Path(__file__).parent / "fixtures" / "model_test-clip-1.schema.json"
CLIP, LUMA = "model_test-clip-1", "model_luma-ray-3-2"

SWEEP = f"""version: 1
name: two-models
prompts:
  - id: lighthouse
    prompt: a lighthouse at dusk
matrix:
  model: [{LUMA}, {CLIP}]
  aspectRatio: ["16:9", "1:1"]
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A manifest folder with the fixture model dropped into its models/ folder."""
    (tmp_path / "models").mkdir()
    shutil.copy(FIXTURE, tmp_path / "models" / FIXTURE.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def manifest(folder: Path, text: str, name: str = "m.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_batch(path)
    return [str(p) for p in caught.value.problems]


def test_a_dropped_schema_file_makes_a_model_usable(folder):
    batch = load_batch(manifest(folder, f"version: 1\nmodel: {CLIP}\nprompts:\n  - a heron\n"))
    (job,) = batch.jobs
    assert (job.model, job.params) == (CLIP, {"duration": "4s", "style": "film"})
    assert batch.models.default.name == "Test Clip 1"


def test_the_models_parameters_and_rules_are_checked_from_its_schema(folder):
    path = manifest(folder, f"version: 1\nmodel: {CLIP}\nprompts:\n  - a heron\n"
                            "defaults:\n  style: oil\n  resolution: 720p\n")
    found = problems(path)
    assert "m.yaml:6: style must be film or anime, not oil" in found
    assert any(p.startswith("m.yaml:7: unknown key 'resolution'") for p in found)
    ruled = manifest(folder, f"version: 1\nmodel: {CLIP}\nprompts:\n  - a heron\n"
                             "matrix:\n  duration: [4s, 8s]\n  style: [anime]\n", "r.yaml")
    assert problems(ruled) == ["r.yaml:7: prompt-1 #2 (duration=8s, style=anime): "
                               "anime is not available at 8s"]


def test_an_unknown_model_says_where_a_schema_would_go(folder):
    found = problems(manifest(folder, "version: 1\nmodel: model_nope\nprompts:\n  - x\n"))
    assert found == [f"m.yaml:2: no schema for the model model_nope: known models are {CLIP}, "
                     f"{LUMA}; to use another, put its request-body schema in "
                     "models/model_nope.schema.json beside the manifest"]


def test_a_broken_model_file_is_reported_by_its_name(folder):
    (folder / "models" / "model_bad.schema.json").write_text('{"type": "object", "properties": {}}')
    found = problems(manifest(folder, "version: 1\nmodel: model_bad\nprompts:\n  - x\n"))
    assert found == ['models/model_bad.schema.json: a model schema needs a "prompt" property '
                     'of "type": "string"']


def test_each_job_of_a_model_sweep_is_checked_against_its_own_model(folder):
    path = manifest(folder, SWEEP.replace('aspectRatio: ["16:9", "1:1"]', "duration: [5s, 8s]"))
    assert problems(path) == [
        f"m.yaml:8: lighthouse #2 (model={LUMA}, duration=8s): duration must be 5s or 10s, not 8s",
        f"m.yaml:8: lighthouse #3 (model={CLIP}, duration=5s): duration must be 4s or 8s, not 5s"]
    skipped = load_batch(manifest(folder, path.read_text() + "on_invalid: skip\n", "s.yaml"))
    assert [(j.model, j.params["duration"]) for j in skipped.jobs] == [(LUMA, "5s"), (CLIP, "8s")]


def test_a_model_axis_alone_leaves_the_default_model_out(folder):
    path = manifest(folder, f"version: 1\nprompts:\n  - x\nmatrix:\n  model: [{CLIP}]\n"
                            "defaults:\n  hdr: true\n")
    assert [p for p in problems(path) if "hdr" in p] == [
        "m.yaml:7: unknown key 'hdr' in defaults (allowed: image, duration, style)"]


def test_a_sweep_over_models_gives_each_job_its_models_parameters(folder):
    batch = load_batch(manifest(folder, SWEEP))
    # aspectRatio is Luma's alone: the Test Clip jobs go without it, so they merge into one.
    assert [(j.model, j.params) for j in batch.jobs] == [
        (LUMA, {"duration": "5s", "resolution": "720p", "aspectRatio": "16:9", "loop": False,
                "hdr": False}),
        (LUMA, {"duration": "5s", "resolution": "720p", "aspectRatio": "1:1", "loop": False,
                "hdr": False}),
        (CLIP, {"duration": "4s", "style": "film"})]
    assert batch.axes == {"model": [LUMA, CLIP], "aspectRatio": ["16:9", "1:1"]}
    assert len({j.key for j in batch.jobs}) == 3


def test_the_simulator_serves_every_model_it_has_a_schema_for(folder):
    clip, _ = catalog.find(CLIP, folder)
    sim = Simulator(api_key="k", api_secret="s", models=[clip], time_scale=1000.0)

    async def calls():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app),
                                     base_url="http://sim/v1", auth=("k", "s")) as client:
            served = (await client.get(f"/models/{CLIP}")).json()["model"]
            bad = await client.post(f"/generate/custom/{CLIP}", json={"prompt": "a", "duration": "5s"})
            ruled = await client.post(f"/generate/custom/{CLIP}",
                                      json={"prompt": "a", "duration": "8s", "style": "anime"})
            priced = await client.post(f"/generate/custom/{CLIP}?dryRun=true",
                                       json={"prompt": "a", "duration": "8s"})
            missing = await client.get("/models/model_nope")
            return served, bad, ruled, priced, missing

    served, bad, ruled, priced, missing = anyio.run(calls)
    assert served["name"] == "Test Clip 1" and compare(served["inputs"], clip.schema) == []
    assert [i["name"] for i in served["inputs"] if i.get("costImpact")] == ["duration", "style"]
    assert bad.status_code == 400 and "4s, 8s" in bad.json()["reason"]
    assert ruled.status_code == 400 and ruled.json()["reason"] == "anime is not available at 8s"
    assert priced.status_code == 269 and priced.json()["creativeUnitsCost"] == 6
    assert missing.status_code == 404


def test_a_two_model_sweep_runs_estimates_and_reports_on_the_simulator(folder, capsys):
    path = manifest(folder, SWEEP)
    assert main(["estimate", str(path), "--simulate", "--json"]) == 0
    estimate = json.loads(capsys.readouterr().out)
    # Luma 720p 5s: 6 x 5 = 30 CU each (twice); Test Clip 4s film: 3 CU.
    assert (estimate["total"], estimate["jobs"], estimate["complete"]) == (63, 3, True)
    assert {c["params"]["model"] for c in estimate["combinations"]} == {LUMA, CLIP}

    assert main(["run", str(path), "--simulate", "--yes", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "3 jobs: 3 succeeded" in out
    assert len(list((folder / "out" / "two-models").rglob("*.mp4"))) == 3

    assert main(["status", str(path), "--json"]) == 0
    records = json.loads(capsys.readouterr().out)["jobs"]
    assert sorted(r["model"] for r in records) == sorted([CLIP, LUMA, LUMA])
    results = json.loads((folder / "out" / "two-models" / "results.json").read_text())
    assert results["axes"]["model"] == [LUMA, CLIP]
    assert sorted(j["model"] for j in results["jobs"]) == sorted([CLIP, LUMA, LUMA])


def test_schema_check_reads_a_model_from_the_models_folder(folder, capsys):
    assert main(["schema", "check", CLIP, "--simulate"]) == 0
    assert f"{CLIP}: the live model matches its schema (models/{FIXTURE.name})" in \
        capsys.readouterr().out
    assert main(["schema", "check", f"models/{FIXTURE.name}", "--simulate"]) == 0


def _broken(folder: Path, change) -> Path:
    """The fixture model with one thing broken, dropped in as model_bad."""
    schema = json.loads(FIXTURE.read_text())
    change(schema)
    (folder / "models" / "model_bad.schema.json").write_text(json.dumps(schema))
    return manifest(folder, "version: 1\nmodel: model_bad\nprompts:\n  - x\n")


def _set(path: str, value):
    def change(schema):
        *parents, last = path.split(".")
        node = schema
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return change


BROKEN_MODELS = [
    (_set("properties.style.$ref", "http://127.0.0.1:9/style.json"),
     "properties.style.$ref: 'http://127.0.0.1:9/style.json' points outside the file"),
    (_set("properties.style.$ref", "#/properties/style"),
     "properties.style.$ref: #/properties/style refers back to itself"),
    (_set("properties.style.$ref", "#/$defs/nothing"),
     "properties.style.$ref: #/$defs/nothing names nothing in the file"),
    (_set("properties.style.enum", []), "properties.style.enum: an enum lists at least one value"),
    (_set("properties.style.default", "oil"),
     "properties.style.default: 'oil' is not a value style itself allows"),
    (_set("properties.style", True), "properties.style: an input is described by a mapping"),
    (_set("properties.duration.type", 5),
     "properties.duration.type: the model schema is not a valid JSON Schema: 5 is not valid"),
    (_set("x-model", "Test Clip"), 'x-model must be {"name": text}'),
    (_set("required", ["prompt", "seed"]), "required: seed is not one of the properties"),
    (_set("allOf", [{"x-message": 5, "if": {"required": ["style"]}, "then": {}}]),
     "allOf.0.x-message: the sentence printed when the rule is broken, as text"),
    (_set("x-price.factors.seed", {"1": 2}), "x-price.factors.seed: seed is not one of the properties"),
]


@pytest.mark.parametrize("change, rule", BROKEN_MODELS)
def test_a_model_file_batchgen_cannot_use_is_refused_naming_the_place_and_rule(folder, capsys,
                                                                                change, rule):
    path = _broken(folder, change)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"models/model_bad.schema.json: {rule}" in err and "Traceback" not in err
    # every command that reads the model refuses it the same way, before sending anything
    assert main(["run", str(path), "--simulate", "--no-progress"]) == 2
    assert f"models/model_bad.schema.json: {rule}" in capsys.readouterr().err
    assert not (folder / "out").exists()
    assert main(["schema", "check", "model_bad", "--simulate"]) == 2
    assert rule in capsys.readouterr().err


def test_a_reference_within_the_model_file_is_followed(folder):
    schema = json.loads(FIXTURE.read_text())
    schema["$defs"] = {"style": schema["properties"]["style"]}
    schema["properties"]["style"] = {"$ref": "#/$defs/style"}
    (folder / "models" / "model_ref.schema.json").write_text(json.dumps(schema))
    path = manifest(folder, "version: 1\nmodel: model_ref\nprompts:\n  - x\n"
                            "matrix:\n  style: [anime, oil]\n")
    assert problems(path) == ["m.yaml:6: style must be film or anime, not oil"]


def test_the_shipped_and_fixture_models_pass_the_model_file_checks():
    for model in [*catalog.shipped().values()]:
        path = catalog.schemas_folder().joinpath(catalog.FOLDER, f"{model.id}{catalog.SUFFIX}")
        read, found = catalog.read(Path(str(path)))
        assert found == [] and read.schema == model.schema
    assert catalog.read(FIXTURE)[1] == []


def test_the_model_of_each_job_shows_where_a_sweep_compares_models(folder, capsys):
    path = manifest(folder, SWEEP)
    assert main(["plan", str(path)]) == 0
    plan = capsys.readouterr().out.splitlines()
    assert plan[1].split()[:5] == ["STATE", "KEY", "PROMPT", "#", "MODEL"]
    assert [line.split()[4] for line in plan[2:5]] == [LUMA, LUMA, CLIP]

    assert main(["run", str(path), "--simulate", "--yes"]) == 0
    err = capsys.readouterr().err
    assert f"lighthouse #1 (model={CLIP})" in err  # log lines tell the two models' jobs apart
    assert f"lighthouse #1 (model={LUMA}, aspectRatio=1:1)" in err

    assert main(["status", str(path)]) == 0
    table = capsys.readouterr().out.splitlines()[2:]
    assert table[0].split()[:3] == ["ID", "SAMPLE", "MODEL"]
    assert sorted(line.split()[2] for line in table[1:]) == sorted([CLIP, LUMA, LUMA])

    with open(folder / "out" / "two-models" / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["model"] for row in rows) == sorted([CLIP, LUMA, LUMA])
