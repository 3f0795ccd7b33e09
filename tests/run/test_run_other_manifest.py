"""A run into a folder whose ledger another manifest wrote is refused (exit 2, nothing
sent) unless --allow-other-manifest says so."""

from __future__ import annotations

import pytest

from batchgen.cli import main
from batchgen.errors import UsageError
from runkit import client_for, generate_calls, make_batch, make_job, run, simulator
from manifestkit import write

MANIFEST = """\
version: 1
name: {name}
output: out
filename: "{{id}}-{{sample}}.mp4"
prompts:
  - id: knight
    prompt: {prompt}
"""


def test_another_manifest_into_the_same_folder_is_refused(tmp_path):
    sim = simulator()
    first = make_batch(tmp_path, [make_job("A knight in fog")])
    run(first, client_for(sim))
    other = make_batch(tmp_path, [make_job("A fox in snow")])
    other.source = str(tmp_path / "other.yaml")
    calls = generate_calls(sim)
    with pytest.raises(UsageError, match="holds the ledger of another manifest.*--allow-other-manifest"):
        run(other, client_for(sim))
    assert generate_calls(sim) == calls


def test_allow_other_manifest_lets_it_run(tmp_path):
    sim = simulator()
    run(make_batch(tmp_path, [make_job("A knight in fog")]), client_for(sim))
    other = make_batch(tmp_path, [make_job("A fox in snow")])
    other.source = str(tmp_path / "other.yaml")
    assert run(other, client_for(sim), allow_other_manifest=True).exit_code == 0


def test_the_cli_refuses_manifest_b_in_manifest_as_folder(tmp_path, capsys):
    a = write(tmp_path, "a.yaml", MANIFEST.format(name="a", prompt="A knight in fog"))
    b = write(tmp_path, "b.yaml", MANIFEST.format(name="b", prompt="A knight in heavy fog"))
    assert main(["run", str(a), "--simulate", "--no-progress"]) == 0
    video = (tmp_path / "out" / "knight-1.mp4").read_bytes()
    capsys.readouterr()
    assert main(["run", str(b), "--simulate", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "another manifest" in err and "a.yaml" in err and "Traceback" not in err
    assert (tmp_path / "out" / "knight-1.mp4").read_bytes() == video
    assert main(["run", str(b), "--simulate", "--no-progress", "--allow-other-manifest"]) == 0
    kept = list((tmp_path / "out").glob("knight-1.*.mp4"))
    assert len(kept) == 1 and kept[0].read_bytes() == video


def test_the_same_manifest_moved_with_its_folder_is_the_same_batch(tmp_path):
    sim = simulator()
    batch = make_batch(tmp_path, [make_job("A knight in fog")])
    batch.source = str(tmp_path / "m.yaml")
    run(batch, client_for(sim))
    moved = tmp_path.parent / (tmp_path.name + "-moved")
    tmp_path.rename(moved)
    batch.output, batch.source = moved / "out", str(moved / "m.yaml")
    assert run(batch, client_for(sim)).exit_code == 0
