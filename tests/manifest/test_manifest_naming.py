"""File names and templates: plain substitution, safe values, confined to the output folder."""

from __future__ import annotations

import pytest

from batchgen.manifest import templates
from batchgen.errors import ManifestError
from batchgen.manifest.load import load_batch
from manifestkit import write

HEAD = "version: 1\nname: t\n"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def refusal(tmp_path, body: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_batch(write(tmp_path, "m.yaml", HEAD + body))
    return [str(p) for p in caught.value.problems]


def test_double_braces_are_literal_braces():
    assert templates.parse("{{a}} {b} }}").render({"b": True}) == "{a} true }"


@pytest.mark.parametrize("text,fragment", [
    ("{style.__class__}", "'{style.__class__}' is not a plain placeholder"),
    ("{a[0]}", "'{a[0]}' is not a plain placeholder"),
    ("{}", "'{}' is not a plain placeholder"),
    ("{0}", "'{0}' is not a plain placeholder"),
    ("a {style", "'{style' has no closing brace"),
])
def test_anything_but_a_plain_name_in_braces_is_refused(text, fragment):
    with pytest.raises(templates.TemplateError, match=fragment.replace("[", r"\[").replace("{", r"\{")):
        templates.parse(text)


@pytest.mark.parametrize("value,safe", [("16:9", "16-9"), (True, "true"), ("../..", "_"),
                                        ("a/b c", "a-b-c"), ("café", "café"), ("x" * 200, "x" * 80)])
def test_values_are_made_filesystem_safe(value, safe):
    assert templates.safe(value) == safe


def test_the_default_file_name_is_the_prompt_id_and_the_key(tmp_path):
    (job,) = load_batch(write(tmp_path, "m.yaml", HEAD + "prompts:\n  - id: knight\n    prompt: x\n")).jobs
    assert job.filename == f"knight/{job.key}.mp4"


def test_a_template_takes_job_fields_parameters_and_variables(tmp_path):
    batch = load_batch(write(tmp_path, "m.yaml", HEAD + (
        'filename: "{index}-{id}/{slug}/{aspectRatio}-{style}-{sample}.mp4"\n'
        "prompts:\n  - id: Knight Rider\n    prompt: 'A knight, walking through fog! {style}'\n"
        "matrix:\n  style: [film noir]\n")))
    assert batch.jobs[0].filename == "1-Knight-Rider/a-knight-walking-through-fog-film-noir/16-9-film-noir-1.mp4"


@pytest.mark.parametrize("template", ["/tmp/{id}.mp4", "../{id}.mp4", "a/../../{id}.mp4",
                                      "{id}//x.mp4", "C:/x/{id}.mp4", "a\\\\{id}.mp4"])
def test_a_template_that_could_leave_the_output_folder_is_refused(tmp_path, template):
    (message,) = refusal(tmp_path, f'filename: "{template}"\nprompts:\n  - x\n')
    assert message.startswith("m.yaml:3:") and "outside the output folder" in message


def test_an_unknown_filename_placeholder_is_refused(tmp_path):
    (message,) = refusal(tmp_path, 'filename: "{colour}.mp4"\nprompts:\n  - x\n')
    assert message.startswith("m.yaml:3: the filename placeholder {colour} has no value")


def test_jobs_writing_the_same_file_are_refused_naming_both(tmp_path):
    problems = refusal(tmp_path, 'filename: "{id}-{resolution}.mp4"\nprompts:\n  - x {style}\n'
                       "matrix:\n  style: [noir, ink]\n")
    assert problems == ["m.yaml:3: prompt-1 #1 (style=noir) and prompt-1 #1 (style=ink) would both "
                        "write prompt-1-720p.mp4; add {sample}, {key} or a swept parameter to the "
                        "filename template '{id}-{resolution}.mp4'"]


def test_names_differing_only_in_case_collide(tmp_path):
    (message,) = refusal(tmp_path, 'filename: "{id}.mp4"\nprompts:\n  - id: Knight\n    prompt: x\n'
                         "  - id: knight\n    prompt: y\n")
    assert "differing only in letter case" in message


def test_many_collisions_are_summarised(tmp_path):
    problems = refusal(tmp_path, 'filename: "same.mp4"\nprompts:\n  - x\nsamples: 25\n')
    assert len(problems) == 11 and problems[-1] == "m.yaml:3: 14 more jobs would overwrite another job's file"
