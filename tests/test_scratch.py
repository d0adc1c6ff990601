"""The exercise's and the scaling study's scratch copy (weatherplot.scratch.
scratch_workflow) is of the running workflow, wherever the package itself lives."""

from __future__ import annotations

from helpers import FIXTURE_DATA, MELBOURNE, REPO, read_config

from weatherplot.scratch import copy_workflow_code, scratch_workflow


def test_the_scratch_copy_is_of_the_root_it_is_given(tmp_path):
    """An installed package's own location (site-packages) holds no Snakefile: the
    rules pass the running workflow's root, and that is what is copied."""
    root = copy_workflow_code(tmp_path / "project", REPO)
    marker = "# the running workflow, not the package's checkout\n"
    (root / "Snakefile").write_text(marker + (root / "Snakefile").read_text())
    station = {"id": MELBOURNE, "file": str(FIXTURE_DATA / f"{MELBOURNE}.dly.gz")}
    copy = scratch_workflow(tmp_path / "scratch", [station], FIXTURE_DATA, root)
    assert (copy / "Snakefile").read_text().startswith(marker)
    assert [s["id"] for s in read_config(copy)["stations"]] == [MELBOURNE]
