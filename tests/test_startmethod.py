"""processes.start_method: the setting, what it resolves to, and a refusal that names
the key when this platform lacks the method."""

from __future__ import annotations

import multiprocessing

import pytest
from helpers import REPO

from weatherplot import startmethod
from weatherplot.preflight import validate_config

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def test_default_is_this_interpreters_own_and_the_schema_fills_it_in():
    config = {"stations": [{"id": "UK000056225"}]}
    validate_config(config, SCHEMA)
    assert config["processes"] == {"start_method": "default"}
    # The documented default: the first of get_all_start_methods().
    assert startmethod.resolve("default") == multiprocessing.get_all_start_methods()[0]
    # Resolving does not fix the process's own default (set_start_method still works).
    assert multiprocessing.get_start_method(allow_none=True) is None


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_every_method_of_this_platform_gives_its_context(method):
    assert startmethod.context(method).get_start_method() == method


def test_the_schema_refuses_an_unknown_method():
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError, match=r"processes.*'vfork' is not one of"):
        validate_config(
            {"stations": [{"id": "X1"}], "processes": {"start_method": "vfork"}},
            SCHEMA,
        )


def test_a_method_this_platform_lacks_is_refused_naming_the_key(monkeypatch):
    # Windows: spawn only.
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert startmethod.resolve("default") == "spawn"
    with pytest.raises(ValueError) as caught:
        startmethod.resolve("fork")
    assert str(caught.value).startswith(
        "processes.start_method: 'fork' is not available on"
    )
    assert str(caught.value).endswith("has spawn); set it to default or one of those")
