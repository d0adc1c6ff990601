"""The lesson's threading-versus-multiprocessing demos, timed honestly.

Seven demos, each a function in a module of its own that runs every variant and
returns a *demo record* (layout in :func:`.common._record`, written to
``results/timings/demos/{demo}.json``)::

    sleep        sleep.py        do_nothing(t) in a loop, in threads, in processes
    numpy        cpu_bound.py    np.random.rand(n) once, in a loop, in threads, in
                                 processes, and threads that each own a
                                 np.random.default_rng() Generator
    shared_list  shared_list.py  a[0] += 1 from ten threads / ten processes, and a
                                 read-modify-write that loses updates without a lock
    pool         pool.py         Pool(workers).map(func, [2, 1, 9]) -> [3, 2, 10]
    pure_python  pure_python.py  a pure-Python CPU-bound loop once, in a loop, in
                                 threads, in processes (the GIL alone decides)
    contended    contended.py    a[0] += 1 and c.x += 1, many times from threads
                                 started together, without and with a Lock; and
                                 the seed's ten threads that increment once
    start_methods start_methods.py  starting and joining processes under every
                                 start method, a bare function and one whose module
                                 imports NumPy and Matplotlib; the seed's script
                                 without and with its __main__ guard

What they share (threads and processes with bounded waits, the memory guard, the
timing of variants, the record) is in ``common.py``; the registry :data:`DEMOS` is
here.

How the figures are taken (also written into every record):

* ``time.perf_counter()`` brackets exactly the work of one variant: for threads, from
  creating the first thread to joining the last; for processes, from creating the
  first process to joining the last, so *process start-up is included*. That is the
  honest cost of the processes variant, and the lesson's point that it is not free.
* The variants are interleaved within each repeat (single, loop, threads, processes,
  single, loop, ...) so slow moments of a shared machine spread over all of them, and
  each variant's median, min and max over ``repeats`` are reported.
* The numpy demo calls ``np.random.rand(n)`` once, untimed, before anything is timed
  (``warmup`` in the record): the first 800 MB allocation of a fresh process costs
  more than the next ones, and that cost belongs to no variant.

Processes are started from the context of the configured start method
(``processes.start_method``, :mod:`weatherplot.startmethod`; ``default`` is this
interpreter's own: ``fork`` on Linux up to 3.13, ``forkserver`` from 3.14, ``spawn``
on macOS and Windows), and every record names the method (``start_method``). Every
build runs a demo as the module command ``python -m weatherplot.demos``
(:mod:`.__main__`), whose ``__main__`` is guarded: ``spawn`` and ``forkserver``
import ``__main__`` again in every child, and an unguarded one would rerun the demo
there. ``fork``'s caveat (forking a process that runs threads) does not bite here:
every thread of an earlier variant has been joined before a process is started, and
the children only call NumPy and exit.

Results cross the process boundary as a few bytes: a child reports the shape and the
first value of its array, never the array (800 MB per child with the lesson's n).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..records import DemoRecord
from . import contended, cpu_bound, pool, pure_python, shared_list, sleep, start_methods
from .common import DEMO_MEM_MB, numpy_mem_mb

# ------------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Demo:
    """One demo of the lesson: all the workflow and the report need to know about it.

    Adding a demo is one entry in :data:`DEMOS` (and its keys in the schema's
    ``demos`` section, the one place for their defaults and bounds).
    """

    name: str
    #: Runs the demo: keyword arguments from the config, see ``config``.
    run: Callable[..., DemoRecord]
    #: The lesson's prediction of its variants' times: the name of a function of
    #: weatherplot.report.lesson (the report owns its reasoning's words); None: it
    #: makes no timing prediction.
    predict: str | None
    #: The report template that explains its results (report/templates/explain/).
    explain: str | None
    #: Its config: ``{key of the demos section: argument of run}``.
    config: Mapping[str, str]
    #: What it does and roughly how long, for the terminal, from the demos section.
    announce: Callable[[Mapping], str]
    #: Its job's memory claim in MiB (resources.mem_mb) from the demos section.
    mem_mb: Callable[[Mapping], int] = lambda _demos: DEMO_MEM_MB
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
    """Run demo ``name`` with the validated config's ``demos`` section (defaults
    filled in)."""
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}; expected one of {', '.join(DEMOS)}")
    demo = DEMOS[name]
    return demo.run(**{arg: demos_config[key] for key, arg in demo.config.items()})
