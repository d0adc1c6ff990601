"""The baselines' backstop (weatherplot.baselines.backstop_seconds): how long the
exercise waits for a baseline process that cannot bound its own waits, from the work
measured for its stations. Hand-worked figures; no timed assertion."""

from __future__ import annotations

import json

import pytest
from helpers import FIXTURE_DATA, MELBOURNE, SHIONOMISAKI

from weatherplot import baselines
from weatherplot.baselines import backstop_seconds, recorded_work

HOUR = 3600


@pytest.mark.parametrize(
    ("stations", "workers", "measured", "expected"),
    [
        # 6 s of work over 2 workers: 60 + 10 * 3 = 90 s, raised to the floor.
        (3, 2, [1.0, 2.0, 3.0], 600),
        # 1000 stations of 0.5 s on 2 workers: 60 + 10 * 250 = 2560 s.
        (1000, 2, [0.5] * 1000, 2560),
        # 10,000 stations, two measured (median 1.2 s): 2.4 + 9998 * 1.2 = 12,000 s
        # of work, 6000 s on 2 workers: 60 + 60,000 = 60,060 s (the stall limit for
        # every station gave 60 + 300 * 5000 = 1,500,060 s, 17 days).
        (10_000, 2, [1.0, 1.4], 60_060),
        # One slow station bounds it from below: max(201.5 / 4, 200) = 200 s.
        (4, 4, [0.5, 0.5, 0.5, 200.0], 2060),
        # 100,000 stations of 2 s in one loop: 60 + 2,000,000 s, capped at a day.
        (100_000, 1, [2.0], 24 * HOUR),
    ],
)
def test_the_backstop_is_a_multiple_of_the_measured_work(
    stations, workers, measured, expected
):
    assert backstop_seconds(stations, workers, measured) == pytest.approx(expected)


def test_without_records_the_backstop_is_the_stall_limit_per_round_capped():
    assert backstop_seconds(4, 2, []) == 60 + 300 * 2
    assert backstop_seconds(3, 2, []) == 60 + 300 * 2  # two rounds: 2 + 1
    assert backstop_seconds(10_000, 2, []) == 24 * HOUR


def plot_record(read: float, plot: float, save: float) -> dict:
    """A plot job's record, as weatherplot.plotjob writes it (the fields read here)."""
    phases = {"handoff": 0.4, "read": read, "plot": plot, "save": save}
    return {"kind": "plot_station", "phases": phases, "process_start": None}


def test_the_measured_work_is_read_plot_and_save_of_each_stations_record(tmp_path):
    (tmp_path / "A.json").write_text(json.dumps(plot_record(0.25, 0.5, 1.25)))
    (tmp_path / "B.json").write_text("{not json")  # cut short: not measured
    stations = [{"id": "A"}, {"id": "B"}, {"id": "C"}]  # C: no record
    assert recorded_work(stations, tmp_path) == {"A": 2.0}


def test_a_baseline_run_is_bounded_by_its_stations_plot_records(tmp_path, monkeypatch):
    """The plot jobs' records, where the main run writes them (results/timings/plots/
    of the working directory), bound the run. Two real stations in the serial loop."""
    two = [
        {"id": s, "file": str(FIXTURE_DATA / f"{s}.dly.gz"), "format": "ghcnd"}
        for s in (MELBOURNE, SHIONOMISAKI)
    ]
    records = tmp_path / "results" / "timings" / "plots"
    records.mkdir(parents=True)
    for station, seconds in ((MELBOURNE, 1000.0), (SHIONOMISAKI, 3000.0)):
        record = plot_record(0.0, seconds, 0.0)
        (records / f"{station}.json").write_text(json.dumps(record))
    monkeypatch.chdir(tmp_path)
    timeouts = []
    run_command = baselines.run_command

    def recording(command, what, timeout, **kwargs):
        timeouts.append(timeout)
        return run_command(command, what, timeout, **kwargs)

    monkeypatch.setattr(baselines, "run_command", recording)
    run = baselines.run_baseline("serial", 1, two, log=lambda m: None)
    # The records' 4000 s of work, in one loop: 60 + 10 * 4000 s.
    assert timeouts == [60 + 10 * 4000]
    assert set(run["per_station"]) == {MELBOURNE, SHIONOMISAKI}
    assert run["work_total"] == sum(run["per_station"].values())
