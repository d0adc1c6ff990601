"""Every exception type of the weatherplot package survives pickle, as it must to
cross a multiprocessing.Pool (an exception that cannot be rebuilt kills the Pool's
result thread and Pool.map waits for ever). Found by introspection, not listed."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

import weatherplot


def package_exceptions() -> list[type[BaseException]]:
    found = {}
    for module in pkgutil.walk_packages(weatherplot.__path__, "weatherplot."):
        imported = importlib.import_module(module.name)
        for _, cls in inspect.getmembers(imported, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__.startswith(
                "weatherplot"
            ):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


def example(cls: type[BaseException]) -> BaseException:
    """An instance with every parameter of its constructor set, so that each one
    has to survive the round trip."""
    arguments, keywords = [], {}
    init = inspect.signature(cls.__init__)
    params = [p for p in init.parameters.values() if p.name != "self"]
    if all(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return cls("what went wrong -> what to do")
    for number, param in enumerate(params, start=3):
        value = number if "int" in str(param.annotation) else f"<{param.name}>"
        if param.kind == param.KEYWORD_ONLY:
            keywords[param.name] = value
        elif param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            arguments.append(value)
    return cls(*arguments, **keywords)


EXCEPTIONS = package_exceptions()


def test_introspection_finds_the_package_exceptions():
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"StationDataError", "ConfigError", "MeasureError"} <= names


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda cls: cls.__qualname__)
def test_exception_round_trips_through_pickle(cls):
    error = example(cls)
    error.station = "X1"  # an attribute added after construction survives too
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert vars(copy) == vars(error)


def test_station_data_error_keeps_its_fields_across_pickle():
    from weatherplot.errors import StationDataError

    error = StationDataError("p", "bad", line=3, field="TMAX", hint="fix it")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.path, copy.problem, copy.line, copy.field, copy.hint) == (
        "p",
        "bad",
        3,
        "TMAX",
        "fix it",
    )
    assert str(copy) == "p, line 3, field 'TMAX': bad -> fix it"
