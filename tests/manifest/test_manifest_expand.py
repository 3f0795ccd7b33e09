"""Expansion: precedence, matrix, include/exclude, variables, samples, merging, keys, limit."""

from __future__ import annotations

import time

import pytest

from batchgen.errors import ManifestError
from batchgen.jobs import body_hash, job_key
from batchgen.manifest.load import load_batch
from manifestkit import png, write

HEAD = "version: 1\nname: t\n"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def load(tmp_path, body: str, name: str = "m.yaml", **kw):
    return load_batch(write(tmp_path, name, HEAD + body), **kw)


def refusal(tmp_path, body: str, **kw) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load(tmp_path, body, **kw)
    return [str(p) for p in caught.value.problems]


def swept(batch, *names):
    return [tuple(j.params.get(n, j.variables.get(n)) for n in names) for j in batch.jobs]


def test_params_hold_the_model_defaults_for_everything_not_set(tmp_path):
    (job,) = load(tmp_path, "prompts:\n  - a knight\n").jobs
    assert job.params == {"duration": "5s", "resolution": "720p", "aspectRatio": "16:9",
                          "loop": False, "hdr": False}
    assert job.body({}) == {"prompt": "a knight", **job.params}


def test_writing_a_default_explicitly_gives_the_same_key(tmp_path):
    plain = load(tmp_path, "prompts:\n  - a knight\n", "a.yaml").jobs[0]
    explicit = load(tmp_path, "defaults:\n  duration: 5s\n  hdr: false\nprompts:\n  - a knight\n",
                    "b.yaml").jobs[0]
    assert plain.key == explicit.key


def test_precedence_is_defaults_then_matrix_then_the_prompts_own_fields(tmp_path):
    batch = load(tmp_path, "defaults:\n  resolution: 540p\n  aspectRatio: '1:1'\nprompts:\n"
                 "  - a knight\n  - prompt: a valley\n    resolution: 1080p\n"
                 "matrix:\n  resolution: [720p]\n")
    assert swept(batch, "resolution", "aspectRatio") == [("720p", "1:1"), ("1080p", "1:1")]


def test_combinations_made_identical_by_a_prompts_field_are_merged(tmp_path):
    batch = load(tmp_path, "prompts:\n  - prompt: a knight\n    resolution: 1080p\n"
                 "matrix:\n  resolution: [720p, 1080p]\n  hdr: [false, true]\n")
    assert swept(batch, "resolution", "hdr") == [("1080p", False), ("1080p", True)]


def test_identical_prompts_are_merged_keeping_the_first(tmp_path):
    batch = load(tmp_path, "prompts:\n  - a knight\n  - id: again\n    prompt: a knight\n")
    assert [j.id for j in batch.jobs] == ["prompt-1"]


def test_jobs_come_in_prompt_then_combination_then_sample_order(tmp_path):
    batch = load(tmp_path, "prompts:\n  - id: a\n    prompt: x\n  - id: b\n    prompt: y\n"
                 "matrix:\n  resolution: [720p, 1080p]\nsamples: 2\n")
    assert [(j.id, j.params["resolution"], j.sample) for j in batch.jobs] == [
        ("a", "720p", 1), ("a", "720p", 2), ("a", "1080p", 1), ("a", "1080p", 2),
        ("b", "720p", 1), ("b", "720p", 2), ("b", "1080p", 1), ("b", "1080p", 2)]


def test_exclude_drops_every_combination_matching_all_its_keys(tmp_path):
    batch = load(tmp_path, "prompts:\n  - x\nmatrix:\n  resolution: [720p, 1080p]\n"
                 "  hdr: [false, true]\n  exclude:\n    - {resolution: 1080p, hdr: true}\n")
    assert swept(batch, "resolution", "hdr") == [("720p", False), ("720p", True), ("1080p", False)]


def test_exclude_may_match_a_parameter_set_in_defaults(tmp_path):
    batch = load(tmp_path, "defaults:\n  loop: true\nprompts:\n  - x\nmatrix:\n"
                 "  resolution: [720p, 1080p]\n  exclude:\n    - {loop: true, resolution: 720p}\n")
    assert swept(batch, "resolution") == [("1080p",)]


def test_include_adds_a_combination_after_exclusion(tmp_path):
    batch = load(tmp_path, "prompts:\n  - x\nmatrix:\n  resolution: [720p, 1080p]\n"
                 "  hdr: [false, true]\n  exclude:\n    - {hdr: true}\n"
                 "  include:\n    - {resolution: 540p, hdr: false}\n    - {resolution: 720p, hdr: true}\n")
    assert swept(batch, "resolution", "hdr") == [("720p", False), ("1080p", False), ("540p", False),
                                                 ("720p", True)]


def test_include_takes_every_value_of_the_axes_it_does_not_name(tmp_path):
    batch = load(tmp_path, "prompts:\n  - x {style}\nmatrix:\n  resolution: [720p]\n"
                 "  style: [noir, ink]\n  include:\n    - {resolution: 1080p}\n")
    assert swept(batch, "resolution", "style") == [("720p", "noir"), ("720p", "ink"),
                                                   ("1080p", "noir"), ("1080p", "ink")]


def test_prompt_variables_are_substituted_as_plain_text(tmp_path):
    batch = load(tmp_path, "prompts:\n  - 'a knight, {style}, {{literal}} braces}}'\n"
                 "matrix:\n  style: [noir, \"{weird}\"]\n")
    assert [j.prompt for j in batch.jobs] == ["a knight, noir, {literal} braces}",
                                              "a knight, {weird}, {literal} braces}"]
    assert batch.jobs[0].variables == {"style": "noir"}


def test_a_variable_unused_by_one_prompt_does_not_multiply_its_jobs(tmp_path):
    batch = load(tmp_path, "prompts:\n  - a knight {style}\n  - a valley\n"
                 "matrix:\n  style: [noir, ink]\n")
    assert [(j.id, j.prompt) for j in batch.jobs] == [
        ("prompt-1", "a knight noir"), ("prompt-1", "a knight ink"), ("prompt-2", "a valley")]


def test_a_prompt_may_set_its_own_samples(tmp_path):
    batch = load(tmp_path, "prompts:\n  - prompt: x\n    samples: 3\n  - y\nsamples: 2\n")
    assert [(j.id, j.sample) for j in batch.jobs] == [
        ("prompt-1", 1), ("prompt-1", 2), ("prompt-1", 3), ("prompt-2", 1), ("prompt-2", 2)]


def test_keys_are_the_shared_job_identity(tmp_path):
    (tmp_path / "f.png").write_bytes(png())
    batch = load(tmp_path, "prompts:\n  - prompt: 'a \"quoted\" caf\u00e9 \\t tab'\n"
                 "    startFrame: f.png\nmatrix:\n  hdr: [false, true]\nsamples: 2\n")
    for job in batch.jobs:
        assert job.key == job_key(job.model, job.identity_body(), job.sample)
        assert job.body_hash == body_hash(job.model, job.identity_body())
    assert len({job.body_hash for job in batch.jobs}) == 2  # the samples of a body share it


def test_keys_do_not_change_when_prompts_are_reordered_or_others_edited(tmp_path):
    first = load(tmp_path, "prompts:\n  - a knight\n  - a valley\n", "a.yaml")
    second = load(tmp_path, "prompts:\n  - a lighthouse\n  - a valley\n  - a knight\n", "b.yaml")
    keys = {j.prompt: j.key for j in second.jobs}
    assert all(keys[j.prompt] == j.key for j in first.jobs)


def test_a_local_frame_counts_by_content_not_by_path(tmp_path):
    (tmp_path / "a.png").write_bytes(png(shade=1))
    (tmp_path / "renamed.png").write_bytes(png(shade=1))
    (tmp_path / "other.png").write_bytes(png(shade=2))
    keys = [load(tmp_path, f"prompts:\n  - prompt: x\n    startFrame: {name}\n", f"{i}.yaml").jobs[0].key
            for i, name in enumerate(["a.png", "renamed.png", "other.png"])]
    assert keys[0] == keys[1] != keys[2]


def test_local_frames_are_listed_once_by_hash(tmp_path):
    (tmp_path / "a.png").write_bytes(png())
    batch = load(tmp_path, "defaults:\n  startFrame: a.png\nprompts:\n  - x\n  - y\n")
    (frame,) = batch.frames.values()
    assert batch.jobs[0].frames == {"startFrame": frame} and frame.display == "a.png"
    assert batch.jobs[0].params["startFrame"] == "a.png"


def test_an_asset_id_frame_is_sent_as_is(tmp_path):
    (job,) = load(tmp_path, "prompts:\n  - prompt: x\n    startFrame: asset_abc\n").jobs
    assert job.frames == {} and job.body({})["startFrame"] == "asset_abc"


def test_a_frame_that_is_not_an_image_is_refused(tmp_path):
    (tmp_path / "notes.png").write_text("hello")
    assert refusal(tmp_path, "prompts:\n  - prompt: x\n    startFrame: notes.png\n") == [
        "m.yaml:5: startFrame notes.png is not a PNG, JPEG or WebP image"]


def test_a_symlink_leading_out_of_the_manifest_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.png").write_bytes(png())
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "link.png").symlink_to(outside / "a.png")
    with pytest.raises(ManifestError) as caught:
        load_batch(write(tmp_path, "project/m.yaml", HEAD + "prompts:\n  - prompt: x\n"
                         "    startFrame: link.png\n"))
    assert "outside the manifest's folder" in str(caught.value)


def test_axes_list_the_swept_values_that_occur(tmp_path):
    batch = load(tmp_path, "prompts:\n  - x {style}\nmatrix:\n  resolution: [720p, 1080p]\n"
                 "  style: [noir, 3]\n  include:\n    - {resolution: 540p, style: noir}\n")
    assert batch.axes == {"resolution": ["720p", "1080p", "540p"], "style": ["noir", "3"]}


def test_every_combination_the_model_rejects_is_listed(tmp_path):
    problems = refusal(tmp_path, "prompts:\n  - id: k\n    prompt: x\nmatrix:\n"
                       "  resolution: [540p, 720p]\n  hdr: [true]\n  duration: [5s, 10s]\n")
    # Each at the line of the value the rule asks to change: the matrix's resolution, hdr.
    assert problems == [
        "m.yaml:7: k #1 (resolution=540p, hdr=true, duration=5s): hdr needs resolution 720p or 1080p",
        "m.yaml:8: k #2 (resolution=540p, hdr=true, duration=10s): 10s is not available with hdr",
        "m.yaml:7: k #2 (resolution=540p, hdr=true, duration=10s): hdr needs resolution 720p or 1080p",
        "m.yaml:8: k #4 (resolution=720p, hdr=true, duration=10s): 10s is not available with hdr"]


def test_a_broken_rule_names_the_line_of_the_value_to_change(tmp_path):
    (tmp_path / "f.png").write_bytes(png())
    problems = refusal(tmp_path, "defaults:\n  duration: 10s\n  hdr: true\nprompts:\n"
                       "  - id: k\n    prompt: x\n    loop: true\n  - id: v\n    prompt: y\n"
                       "    startFrame: f.png\n")
    assert problems == [
        "m.yaml:9: k: 10s is not available with loop",  # the prompt's own field
        "m.yaml:5: k: 10s is not available with hdr",  # from the defaults
        "m.yaml:5: v: 10s is not available with hdr",
        "m.yaml:12: v: 10s is not available with a startFrame"]


def test_on_invalid_skip_drops_rejected_combinations_and_warns(tmp_path):
    batch = load(tmp_path, "on_invalid: skip\nprompts:\n  - x\nmatrix:\n"
                 "  duration: [5s, 10s]\n  loop: [false, true]\n")
    assert swept(batch, "duration", "loop") == [("5s", False), ("5s", True), ("10s", False)]
    (warning,) = batch.warnings
    assert str(warning).endswith("(duration=10s, loop=true): skipped: 10s is not available with loop")


def test_ids_must_be_unique(tmp_path):
    assert refusal(tmp_path, "prompts:\n  - id: k\n    prompt: x\n  - id: k\n    prompt: y\n") == [
        "m.yaml:6: the id 'k' is already used by the prompt on line 4; ids must be unique"]


def test_include_and_exclude_may_only_name_axes_or_parameters(tmp_path):
    (message,) = refusal(tmp_path, "prompts:\n  - x\nmatrix:\n  resolution: [720p]\n"
                         "  exclude:\n    - {colour: red}\n")
    assert message == "m.yaml:8: exclude names 'colour', which is neither a matrix axis nor a model parameter"


def test_a_placeholder_naming_a_model_parameter_is_refused(tmp_path):
    (message,) = refusal(tmp_path, "prompts:\n  - a knight at {resolution}\n")
    assert "{resolution} names a model parameter" in message


def test_the_job_count_is_checked_before_any_job_is_built(tmp_path):
    start = time.perf_counter()
    (message,) = refusal(tmp_path, "prompts:\n  - x\nsamples: 1000000000\n")
    assert time.perf_counter() - start < 1
    assert "1,000,000,000 jobs, more than the limit of 100,000" in message


def test_exclusions_count_toward_the_limit(tmp_path):
    batch = load(tmp_path, "prompts:\n  - x\nmatrix:\n  resolution: [720p, 1080p]\n"
                 "  exclude:\n    - {resolution: 1080p}\nsamples: 3\n", max_jobs=3)
    assert len(batch.jobs) == 3


def test_the_max_jobs_argument_overrides_the_manifest(tmp_path):
    body = "max_jobs: 10\nprompts:\n  - x\nsamples: 20\n"
    assert "more than the limit of 10" in refusal(tmp_path, body)[0]
    assert len(load(tmp_path, body, max_jobs=20).jobs) == 20


def test_a_misspelt_parameter_in_the_matrix_is_pointed_out(tmp_path):
    (message,) = refusal(tmp_path, "prompts:\n  - x\nmatrix:\n  resolutoin: [720p, 1080p]\n")
    assert message == ("m.yaml:6: the matrix variable 'resolutoin' is not used by any prompt; "
                       "did you mean the model parameter 'resolution'?")


def test_name_and_model_rule_problems_are_reported_together(tmp_path):
    problems = refusal(tmp_path, (
        "prompts:\n  - id: knight\n    prompt: 'A knight, {styel}'\n    loop: true\n"
        "  - id: knight\n    prompt: a valley\n"
        "matrix:\n  duration: [5s, 10s]\n"))
    assert problems == [
        "m.yaml:7: the id 'knight' is already used by the prompt on line 4; ids must be unique",
        "m.yaml:4: knight: the placeholder {styel} has no value: add 'styel' to the matrix as a "
        "prompt variable, or write {{styel}} for literal braces",
        "m.yaml:6: knight #2 (duration=10s): 10s is not available with loop"]


def test_names_and_the_job_limit_are_reported_together(tmp_path):
    problems = refusal(tmp_path, "prompts:\n  - 'a {nothing}'\nsamples: 3\n", max_jobs=2)
    assert len(problems) == 2
    assert "the placeholder {nothing} has no value" in problems[0]
    assert "expands to 3 jobs, more than the limit of 2" in problems[1]
