"""The lesson's threading-versus-multiprocessing demos, timed honestly, and their
registry :data:`DEMOS`.

Each demo is a function in a module of its own that runs every variant and returns a
demo record (:func:`.common._record`, ``results/timings/demos/{demo}.json``); what
they share is in ``common.py``. How the figures are taken:

* ``time.perf_counter()`` brackets one variant's work, from creating the first thread
  or process to joining the last: *process start-up is included*, the honest cost of
  processes and the lesson's point that they are not free.
* The variants are interleaved within each repeat (single, loop, threads, processes,
  single, ...) so slow moments of a shared machine spread over all of them.
* The numpy demo's first ``np.random.rand(n)`` is timed apart (``warmup``): a fresh
  process's first 800 MB allocation costs more than the next ones.

Processes start under ``processes.start_method`` (:mod:`weatherplot.startmethod`),
named in every record. ``fork``'s caveat (forking a process that runs threads) does
not bite: every thread of an earlier variant is joined before a process starts. A
child returns a few bytes (its array's shape and first value), never the array.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..records import DemoRecord
from . import contended, cpu_bound, pool, pure_python, shared_list, sleep, start_methods
from .common import numpy_mem_mb


@dataclass(frozen=True)
class Demo:
    """One demo of the lesson: all the workflow and the report need to know about it
    (adding one: docs/development.md)."""

    name: str
    #: Runs the demo: keyword arguments from the config, see ``config``.
    run: Callable[..., DemoRecord]
    #: Its prediction's name in weatherplot.report.lesson, or None.
    predict: str | None
    #: The report template that explains its results (report/templates/explain/).
    explain: str | None
    #: Its config: ``{key of the demos section: argument of run}``.
    config: Mapping[str, str]
    #: What it does and roughly how long, for the terminal.
    announce: Callable[[Mapping], str]
    #: Its job's memory claim in MiB (resources.mem_mb) from the demos section.
    mem_mb: Callable[[Mapping], int] = lambda _demos: 256
    #: The point of the report's free-threading section its figures make there
    #: (report/freethreading.py: "gil_threads", "lost_updates", "library_lock").
    both_builds: str | None = None


DEMOS: dict[str, Demo] = {
    demo.name: demo
    for demo in (
        Demo(
            "sleep",
            sleep.sleep_demo,
            "predict_sleep",
            None,
            {"sleep_seconds": "t", "workers": "workers", "sleep_repeats": "repeats"},
            sleep.announce,
        ),
        Demo(
            "numpy",
            cpu_bound.numpy_demo,
            "predict_numpy",
            "numpy.j2",
            {"array_size": "n", "workers": "workers", "repeats": "repeats"},
            cpu_bound.announce,
            numpy_mem_mb,
            "library_lock",
        ),
        Demo(
            "shared_list",
            shared_list.shared_list_demo,
            None,
            "shared_list.j2",
            {
                "shared_list_threads": "threads",
                "shared_list_iterations": "iterations",
                "shared_list_pause": "pause",
                "sleep_repeats": "repeats",
            },
            shared_list.announce,
        ),
        Demo(
            "pool",
            pool.pool_demo,
            "predict_pool",
            "pool.j2",
            {
                "sleep_seconds": "t",
                "workers": "workers",
                "pool_inputs": "inputs",
                "sleep_repeats": "repeats",
            },
            pool.announce,
        ),
        Demo(
            "pure_python",
            pure_python.pure_python_demo,
            "predict_pure_python",
            "pure_python.j2",
            {"pure_python_n": "n", "workers": "workers", "repeats": "repeats"},
            pure_python.announce,
            both_builds="gil_threads",
        ),
        Demo(
            "contended",
            contended.contended_demo,
            None,
            "contended.j2",
            {
                "contended_threads": "threads",
                "contended_increments": "increments",
                "shared_list_threads": "seed_threads",
                "sleep_repeats": "repeats",
            },
            contended.announce,
            both_builds="lost_updates",
        ),
        Demo(
            "start_methods",
            start_methods.start_methods_demo,
            None,
            "start_methods.j2",
            {"workers": "workers", "start_method_repeats": "repeats"},
            start_methods.announce,
        ),
    )
}


def run_demo(name: str, demos_config: Mapping) -> DemoRecord:
    """Run demo ``name`` with the validated config's ``demos`` section."""
    demo = DEMOS[name]
    return demo.run(**{arg: demos_config[key] for key, arg in demo.config.items()})
