"""`batchgen init [NAME]`: a commented starter manifest that validates and runs as written."""

from __future__ import annotations

from batchgen.cli import main
from batchgen.manifest.load import load_batch


def test_init_writes_a_commented_manifest_with_prompts_a_matrix_and_samples(tmp_path, capsys):
    assert main(["init", str(tmp_path / "knights")]) == 0
    path = tmp_path / "knights.yaml"
    text = path.read_text(encoding="utf-8")
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) >= 10
    batch = load_batch(path)
    assert batch.name == "knights" and len(batch.jobs) == 16
    assert set(batch.axes) == {"resolution", "look"} and {j.sample for j in batch.jobs} == {1, 2}
    assert f"wrote {path}: 16 jobs from 2 prompts" in capsys.readouterr().out


def test_the_starter_manifest_validates_and_runs_on_the_simulator_as_written(tmp_path, capsys):
    assert main(["init"]) == 0  # in the (empty) working folder: my-batch.yaml
    assert main(["validate", "my-batch.yaml"]) == 0
    assert main(["run", "my-batch.yaml", "--simulate", "--yes", "--no-progress",
                 "--concurrency", "16"]) == 0
    assert "16 jobs: 16 succeeded" in capsys.readouterr().out


def test_init_never_overwrites_a_file(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text("my own work\n")
    assert main(["init", str(path)]) == 2
    assert path.read_text() == "my own work\n"
    assert capsys.readouterr().err == f"batchgen: {path} exists already; give another NAME\n"


def test_a_name_that_cannot_name_a_batch_is_refused(tmp_path, capsys):
    assert main(["init", str(tmp_path / "my batch!")]) == 2
    assert "cannot name a batch" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
