"""The exercise on both CPython builds: the serial loop, a ``multiprocessing.Pool``
and a ``ThreadPoolExecutor`` in one process, each a whole command timed from outside
(:func:`weatherplot.baselines.run_baseline`), on the build with the GIL (this
interpreter) and on the free-threaded one, on the same stations, taking turns.

For each build it also measures, untimed as a command, the share of a plot's time
spent inside Matplotlib's ``Figure.draw`` (the ``draw`` baseline): the part that one
lock shared by every figure (``Figure._render_lock``) lets only one thread do at a
time. Amdahl's law then bounds what the threads can gain, and the report sets that
bound against what they got. The threaded PNGs are compared with the loop's, byte
for byte (sha256).

    time python weather_plot.py            # serial
    time python weather_plot_pool.py       # multiprocessing.Pool(N)
    time python weather_plot_threads.py    # ThreadPoolExecutor(N), one process
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from .baselines import run_baseline
from .exercise import children_cpu, load_average, run_conditions, warm_page_cache
from .records import ExerciseBuildsRecord

#: The methods, in the order of the first repeat.
METHODS = ("serial", "pool", "threads")
COMMANDS = {
    "serial": "python: for station in stations: plot(station)",
    "pool": "python: multiprocessing.Pool({n}).map(plot, stations)",
    "threads": "python: ThreadPoolExecutor({n}).map(plot, stations)",
}


def _run(mode: str, workers: int, stations: list, python: str, log) -> dict:
    cpu = children_cpu()
    record = run_baseline(mode, workers, stations, 1, log=log, python=python)
    return {
        "wall": record["median"],
        "loop_seconds": record["loop_seconds"][0],
        "work_total": sum(record["per_station"].values()),
        "cpu": children_cpu() - cpu,
        "digests": record["digests"],
        "interpreter": record["interpreter"],
    }


def draw_share(stations: list, python: str, log=print) -> dict:
    """Figure.draw's seconds against each station's whole plot (read, plot, save),
    from one serial loop with Figure.draw timed."""
    record = run_baseline("draw", 1, stations, 1, log=log, python=python)
    plot = sum(record["per_station"].values())
    draw = sum(record["draw_seconds"].values())
    return {
        "plot_seconds": plot,
        "draw_seconds": draw,
        "share": draw / plot if plot > 0 else None,
        "per_station": {
            s: {"plot": record["per_station"][s], "draw": record["draw_seconds"][s]}
            for s in record["per_station"]
        },
    }


def run_builds(
    stations: Sequence[dict],
    workers: int,
    repeats: int,
    builds: Mapping[str, str],
    log: Callable[[str], None] = print,
) -> ExerciseBuildsRecord:
    """Time the three commands on every build, ``repeats`` times each, taking turns
    (the order of builds and of methods rotates every repeat).

    ``builds`` maps a build's name ("gil", "free-threaded") to its Python command.
    Each build's ``interpreter`` is what its processes reported
    (:func:`weatherplot.freethreading.this_interpreter`)."""
    stations = list(stations)
    names = list(builds)
    started = time.time()
    load_before = load_average()
    warm_page_cache(stations)
    runs = {b: {m: [] for m in METHODS} for b in names}
    shares = {}
    for build in names:  # untimed: also warms each build's imports and bytecode
        shares[build] = draw_share(stations, builds[build], log)
    for repeat in range(repeats):
        order = names[repeat % len(names) :] + names[: repeat % len(names)]
        for build in order:
            for method in METHODS[repeat % 3 :] + METHODS[: repeat % 3]:
                n = 1 if method == "serial" else workers
                run = _run(method, n, stations, builds[build], log)
                runs[build][method].append(run)
                wall = run["wall"]
                log(f"repeat {repeat + 1}/{repeats}: {build} {method} {wall:.2f} s")
    out = {}
    for build in names:
        serial_png = runs[build]["serial"][-1]["digests"]
        out[build] = {
            "interpreter": runs[build]["threads"][-1]["interpreter"],
            "draw": shares[build],
            "threads_png_identical": all(
                r["digests"] == serial_png for r in runs[build]["threads"]
            ),
            "methods": {
                m: {
                    "workers": 1 if m == "serial" else workers,
                    "command": COMMANDS[m].format(n=workers),
                    "runs": [
                        {
                            k: v
                            for k, v in r.items()
                            if k not in ("digests", "interpreter")
                        }
                        for r in runs[build][m]
                    ],
                }
                for m in METHODS
            },
        }
    first = names[0]
    return {
        "kind": "exercise_builds",
        "stations": [s["id"] for s in stations],
        "repeats": repeats,
        "workers": workers,
        "builds": out,
        # Do the builds draw the same pixels? (Their Matplotlib versions may differ.)
        "png_identical_across_builds": all(
            runs[b]["serial"][-1]["digests"] == runs[first]["serial"][-1]["digests"]
            for b in names
        ),
        **run_conditions(started, load_before),
    }
