"""The set-up stays true: environment.yml matches pyproject, CI runs the README's
test command, nothing generated is tracked."""

from __future__ import annotations

import re
import subprocess
import tomllib

import pytest
import yaml
from helpers import REPO

CONDA_NAMES = {"matplotlib-base": "matplotlib"}


def requirement_name(spec: str) -> str:
    return re.split(r"[ <>=!~\[;]", spec.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["test"]
    # A package pip installs on some Pythons only (a marker) cannot be said so in
    # environment.yml: it is named there in a comment, never in the dependencies,
    # or conda would pick an old Python for it.
    pip_names = {requirement_name(s) for s in specs if ";" not in s}
    only_some_pythons = {requirement_name(s) for s in specs if ";" in s}
    text = (REPO / "environment.yml").read_text()
    for name in only_some_pythons:
        assert re.search(rf"^\s*#.*\b{name}\b", text, re.M), name
    env = yaml.safe_load(text)
    conda_names = {
        CONDA_NAMES.get(requirement_name(d), requirement_name(d))
        for d in env["dependencies"]
        if isinstance(d, str)
    } - {"python", "pip"}
    assert conda_names == pip_names


def test_slurm_extra_is_documented_in_environment_yml():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    (plugin,) = project["optional-dependencies"]["slurm"]
    assert requirement_name(plugin) in (REPO / "environment.yml").read_text()


def readme_commands() -> list[str]:
    """The two commands in the README's first code block."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"```(?:sh|bash)?\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    run, test = readme_commands()
    assert run.endswith("snakemake --cores 4")
    assert test.endswith("pytest")
    assert "conda" not in run + test
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert test in ci


@pytest.mark.skipif(
    not (REPO / ".git").exists(),
    reason="asks git what is tracked: needs a git checkout (a tarball has no index)",
)
def test_nothing_generated_is_tracked():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    generated = re.compile(
        r"^(results|logs|benchmarks|\.snakemake|\.venv)/|__pycache__"
    )
    assert not [path for path in tracked if generated.search(path)]


def test_the_workflow_catalog_claims_only_deployments_that_ci_runs():
    """The catalog file says which software deployment methods work; one is only
    claimed when CI runs the workflow with it (`--sdm conda` never ran anywhere)."""
    catalog = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())
    claimed = [
        method
        for method, supported in catalog["usage"]["software-stack-deployment"].items()
        if supported and method != "report"
    ]
    ci = "\n".join(
        p.read_text(errors="replace") for p in (REPO / ".ci").rglob("*") if p.is_file()
    )
    assert [m for m in claimed if f"--sdm {m}" not in ci] == []
