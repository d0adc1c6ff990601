"""The whole workflow (plots, demos, the exercise timing, report) with the fixture
config's tiny demo sizes, run once (the session's ``finished_run``), and every test
that reads it: its records and reports, Snakemake's own HTML report, dry runs of it
and of moved or extended copies.

Every test that uses ``finished_run`` lives here: they all run on one xdist worker
(conftest.py: SHARED_FIXTURE_MODULES), so the run is made once, not once per
worker."""

from __future__ import annotations

import base64
import csv
import json
import multiprocessing
import os
import re
import shutil
import statistics
import sys
import zipfile
from pathlib import Path

import png_checks
import pytest
from helpers import (
    FIXTURE_DATA,
    MELBOURNE,
    OXFORD,
    THREE_STATIONS,
    fixture_config,
    planned_jobs,
    read_config,
    run_snakemake,
    write_config,
)
from PIL import Image

pytestmark = pytest.mark.integration

NOTHING_TO_DO = "Nothing to be done"


def test_every_timing_record_is_written(finished_run):
    timings = finished_run / "results" / "timings"
    plots = [json.loads(p.read_text()) for p in (timings / "plots").glob("*.json")]
    assert sorted((r["name"], r["station_format"]) for r in plots) == [
        (station, "ghcnd") for station in sorted(THREE_STATIONS)
    ]
    demos = {
        p.stem: json.loads(p.read_text()) for p in (timings / "demos").glob("*.json")
    }
    assert set(demos) == {
        "sleep",
        "numpy",
        "shared_list",
        "pool",
        "pure_python",
        "contended",
        "start_methods",
    }
    # Every demo names how it started processes: here this Python's own default.
    assert {r["start_method"] for r in demos.values()} == {
        multiprocessing.get_all_start_methods()[0]
    }
    # No free-threaded Python in the fixture's run: none of its records.
    assert not (timings / "free-threaded").exists()
    assert demos["shared_list"]["results"]["threads"] == [11, 2, 3]
    assert demos["shared_list"]["results"]["processes"] == [1, 2, 3]
    assert demos["pool"]["results"]["result"] == [3, 2, 10]
    # The demo rule passes the config's sizes and the run's cores to the script.
    sizes = fixture_config()["demos"]
    assert demos["numpy"]["params"] == {
        "n": sizes["array_size"],
        "workers": sizes["workers"],
        "repeats": sizes["repeats"],
    }
    assert all(record["job_threads"] == 2 for record in demos.values())  # --cores 2
    numpy_log = (finished_run / "logs" / "demos" / "numpy.log").read_text()
    assert f"numpy demo: threads variant, repeat {sizes['repeats']}/" in numpy_log
    exercise = json.loads((timings / "exercise.json").read_text())
    assert sorted(exercise["stations"]) == sorted(THREE_STATIONS)
    assert set(exercise["methods"]) == {"serial", "pool", "snakemake"}
    # Which Python ran the commands: the run's own.
    assert exercise["interpreter"]["executable"] == sys.executable
    assert exercise["interpreter"]["version"] == sys.version.split()[0]
    fan = exercise["methods"]["snakemake"]["runs"][0]
    # The nested snakemake ran every station's plot job, all inside its own wall
    # time: start-up before the first job, exit after the last.
    assert fan["jobs"] == len(THREE_STATIONS)
    assert fan["command_start"] < fan["first_job_start"]
    assert fan["last_job_end"] < fan["command_end"]


def test_timing_jobs_never_overlap_the_plot_fan_out(finished_run):
    timings = finished_run / "results" / "timings"
    plots = [json.loads(p.read_text()) for p in (timings / "plots").glob("*.json")]
    exclusive = [json.loads(p.read_text()) for p in (timings / "demos").glob("*.json")]
    exclusive.append(
        {"name": "exercise", **json.loads((timings / "exercise.json").read_text())}
    )
    fan_out = (min(r["process_start"] for r in plots), max(r["end"] for r in plots))
    for record in exclusive:
        assert record["end"] <= fan_out[0] or record["start"] >= fan_out[1], record[
            "name"
        ]


def test_report_files_answer_the_lessons_questions(finished_run):
    report = finished_run / "results" / "report"
    markdown = (report / "timing_report.md").read_text()
    for question in (
        "How long does each variant take?",
        "What is the maximum speedup you can expect?",
        "What do you actually get?",
    ):
        assert question in markdown
    assert "[11, 2, 3]" in markdown and "[3, 2, 10]" in markdown
    html = (report / "timing_report.html").read_text()
    embedded = {
        key: base64.b64decode(data)
        for key, data in re.findall(
            r'<img id="chart-([^"]+)"[^>]*src="data:image/png;base64,([^"]+)"', html
        )
    }
    assert len(embedded) >= 3 and "gantt" in embedded  # commands, demos, timeline
    assert markdown.index("What do you actually get?") < markdown.index(
        "## The exercise"
    )
    figures = json.loads((report / "timings.json").read_text())
    assert figures["environment"]["cores"] == 2
    # The Markdown's charts are files beside it, the same images the HTML embeds;
    # the HTML's thumbnails are the run's station plots.
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", markdown)
    assert {Path(h).stem: (report / h).read_bytes() for h in linked} == embedded
    thumbs = re.findall(r'<img src="([^"]+\.png)"', html)
    plots = finished_run / "results" / "plots"
    assert sorted((report / t).resolve() for t in thumbs) == sorted(
        (plots / f"{station}.png").resolve() for station in THREE_STATIONS
    )


def test_snakemake_html_report_includes_plots_and_timing(finished_run):
    run_snakemake(finished_run, "--report", "report.zip")
    with zipfile.ZipFile(finished_run / "report.zip") as archive:
        names = archive.namelist()
        # The report's own page, not timing_report.html (which also ends so).
        (page,) = (n for n in names if Path(n).name == "report.html")
        html = archive.read(page).decode()
    assert any(name.endswith("USC00042319.png") for name in names)
    assert any(name.endswith("timing_report.html") for name in names)
    # What a reader clicks through: the timing report one click deep under its
    # own category (Snakemake files entries without a subcategory under "Other"),
    # and the stations listed by name, not only by id.
    categories = json.loads(re.search(r"var categories = (\{.*?\});\n", html)[1])
    assert not any("Other" in subs for subs in categories.values()), categories
    (answers,) = categories["Timing report"].values()
    assert sorted(Path(f).name for f in answers) == [
        "timing_report.html",
        "timing_report.md",
    ]
    results = json.loads(re.search(r"var results = (\{.*?\});\n", html)[1])
    labels = results["results/plots/USC00042319.png"]["labels"]
    assert labels == {"station": "Death Valley", "id": "USC00042319"}


def station_names(workdir: Path) -> dict[str, str]:
    """Each configured station's name: its config entry's, else data/stations.csv's."""
    with open(workdir / "data" / "stations.csv", newline="") as f:
        catalog = {row["id"]: row["name"] for row in csv.DictReader(f)}
    return {
        s["id"]: s.get("name") or catalog[s["id"]]
        for s in read_config(workdir)["stations"]
    }


MODULE_WITH_PREFIX = """configfile: "config/config.yaml"


module weatherplot:
    snakefile:
        "{snakefile}"
    config:
        config
    prefix:
        "out"


use rule * from weatherplot
"""


def test_a_module_used_with_a_prefix_links_the_plots_under_its_prefix(
    finished_run, tmp_path
):
    """A module used with `prefix:` writes every file under it: the report's
    thumbnails and links must point at out/results/plots/, not at a fixed
    results/plots/ (the report rule's param was that string). The finished run's
    records and plots are put where the prefixed rules write them, and only the
    report runs."""
    project = tmp_path / "project"
    for folder in ("data", "config"):
        shutil.copytree(finished_run / folder, project / folder)
    snakefile = MODULE_WITH_PREFIX.format(snakefile=finished_run / "Snakefile")
    (project / "Snakefile").write_text(snakefile)
    for folder in ("timings", "plots"):
        shutil.copytree(
            finished_run / "results" / folder, project / "out" / "results" / folder
        )
    target = "out/results/report/timing_report.html"
    run = run_snakemake(
        project, "--cores", "1", "--allowed-rules", "timing_report", target
    )
    ran = re.findall(r"^(?:local)?rule (\w+):$", run.stderr + run.stdout, re.M)
    assert set(ran) - {"all"} == {"timing_report"}, run.stderr  # all: no job
    report = project / "out" / "results" / "report"
    plots = (project / "out" / "results" / "plots").resolve()
    page = (report / "timing_report.html").read_text()
    markdown = (report / "timing_report.md").read_text()
    thumbs = re.findall(r'<img src="([^"]+)"', page)
    links = re.findall(r"^- \[[^\]]*\]\(([^)]+\.png)\)", markdown, re.M)
    expected = sorted(f"{s}.png" for s in THREE_STATIONS)
    for hrefs in (thumbs, links):
        assert sorted(Path(h).name for h in hrefs) == expected
        for href in hrefs:
            assert (report / href).resolve().parent == plots, href
            assert (report / href).is_file(), href
    # Captioned by the stations' names (config entry, else data/stations.csv).
    captions = re.findall(r"<figcaption>([^<]+) <small>(\w+)</small>", page)
    assert dict((i, n) for n, i in captions) == station_names(project)


# -- The HTML report in a real browser ----------------------------------------------

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright downloads no browser here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def sync_playwright():
    """Playwright's sync API with Debian's chromium there, else a skip with the
    reason; under CI=true a failure (.ci/browser.sh installs chromium)."""
    missing = [] if Path(CHROMIUM).exists() else [f"Debian's chromium ({CHROMIUM})"]
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    if missing:
        reason = (
            f"needs {' and '.join(missing)}: apt-get install -y chromium, or run "
            ".ci/browser.sh"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: the browser test must run; it {reason}")
        pytest.skip(reason)
    return sync_playwright()


def test_without_chromium_the_browser_test_skips_or_under_ci_fails(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        sync_playwright()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: the browser test must"):
        sync_playwright()


def test_the_html_report_works_in_a_real_browser(finished_run):
    """The page a user reads, opened in headless Chromium: every chart and thumbnail
    loads (the thumbnails load lazily, so each is scrolled to), every contents link
    lands on the heading with its id, and the console shows no error."""
    page_path = finished_run / "results" / "report" / "timing_report.html"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors = []
            page.on(
                "console", lambda m: errors.append(m.text) if m.type == "error" else 0
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("requestfailed", lambda r: errors.append(f"{r.url}: {r.failure}"))
            page.goto(page_path.as_uri(), wait_until="load")

            images = page.locator("img")
            for i in range(images.count()):
                images.nth(i).scroll_into_view_if_needed()
            page.wait_for_function("() => [...document.images].every(i => i.complete)")
            loaded = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => [i.getAttribute('src'), i.naturalWidth])"
            )
            thumbs = [src for src, _ in loaded if not src.startswith("data:")]
            assert sorted(Path(s).name for s in thumbs) == sorted(
                f"{s}.png" for s in THREE_STATIONS
            )
            assert len(loaded) - len(thumbs) >= 3  # the charts
            assert [s[:40] for s, width in loaded if width == 0] == []

            hrefs = page.eval_on_selector_all(
                "nav#contents a", "links => links.map(a => a.getAttribute('href'))"
            )
            assert len(hrefs) > 10
            for href in hrefs:
                page.click(f'nav#contents a[href="{href}"]')
                landed = page.evaluate(
                    """ident => {
                        const el = document.getElementById(ident);
                        if (!el) return null;
                        const top = el.getBoundingClientRect().top;
                        // At the window's top, less a pixel's rounding (the
                        // last headings: where the page's end lets them be).
                        return [el.tagName, location.hash,
                                top > -1 && top < window.innerHeight];
                    }""",
                    href[1:],
                )
                assert landed is not None, f"no element with id {href[1:]}"
                tag, hash_, visible = landed
                assert tag in ("H2", "H3") and hash_ == href and visible, landed
            assert errors == []
        finally:
            browser.close()


# -- A second run: clean dry runs, a moved checkout, no absolute path recorded -----


@pytest.fixture(scope="module")
def moved_finished_run(finished_run, tmp_path_factory):
    """The finished run, copied elsewhere as a user moves a checkout."""
    moved = tmp_path_factory.mktemp("moved") / "checkout"
    shutil.copytree(finished_run, moved, symlinks=True)  # copy2: keeps the mtimes
    return moved


@pytest.mark.parametrize("cores", [[], ["--cores", "1"], ["--cores", "3"]])
def test_moved_finished_run_has_nothing_to_do_whatever_the_cores(
    moved_finished_run, cores
):
    """Nothing reruns: neither for other --cores (the run's cores are no rerun
    trigger) nor in another folder (no absolute path is one)."""
    run = run_snakemake(moved_finished_run, "-n", *cores)
    assert NOTHING_TO_DO in run.stdout + run.stderr, run.stdout + run.stderr


def test_no_job_records_an_absolute_interpreter_or_checkout_path(finished_run):
    """Params are a rerun trigger: an absolute path in them reruns the job when the
    checkout or the virtual environment moves."""
    workdir = finished_run
    metadata = workdir / ".snakemake" / "metadata"
    records = [json.loads(p.read_text()) for p in metadata.iterdir()]
    assert records
    for record in records:
        params = json.dumps(record.get("params"))
        assert sys.executable not in params
        assert str(workdir) not in params


# -- The plots, both ways, and a station added to a finished run ------------------


def test_adding_a_station_adds_exactly_one_plot_job(finished_run, tmp_path):
    """As the README says: put the file in data/, add one entry with its id (in a
    copy of the finished run, which it must leave as it is)."""
    workdir = tmp_path / "copy"
    shutil.copytree(finished_run, workdir, symlinks=True)  # copy2: keeps the mtimes
    (workdir / "data" / f"{OXFORD}.dly.gz").write_bytes(
        (FIXTURE_DATA / f"{OXFORD}.dly.gz").read_bytes()
    )
    config = read_config(workdir)
    config["stations"].append({"id": OXFORD})
    write_config(workdir, config)
    dry = run_snakemake(workdir, "-n", "--until", "plot_station")
    assert planned_jobs(dry)["plot_station"] == 1
    assert f"results/plots/{OXFORD}.png" in dry.stdout


def test_run_makes_a_png_and_timing_record_per_station(finished_run, workflow_copy):
    """Both plot-server settings, each set explicitly: forked workers (the finished
    run: the fixture config sets plot_server: true), then fresh processes in a run of
    its own, and the same bytes from both."""
    assert fixture_config()["plot_server"] is True
    for station in THREE_STATIONS:
        png = finished_run / "results" / "plots" / f"{station}.png"
        with Image.open(png) as image:
            image.verify()
        with Image.open(png) as image:
            assert image.size == (1200, 1050)
        record = json.loads(
            (
                finished_run / "results" / "timings" / "plots" / f"{station}.json"
            ).read_text()
        )
        assert record["name"] == station
        assert record["process_start"] <= record["start"] < record["end"]
        # Plotted by a worker forked from the run's warm plot server.
        assert record["worker"] == "forked"
        assert set(record["phases"]) == {"handoff", "read", "plot", "save"}
        job_log = finished_run / "logs" / "plot_station" / f"{station}.log"
        assert f"plotted {station} from " in job_log.read_text()
        assert "in a forked process" in job_log.read_text()
        # The plotting process's CPU time and peak memory (no benchmark: file); that
        # it is this job's own is test_plotserver's (twelve jobs on one worker).
        assert record["cpu_seconds"] > 0
        assert 0 < record["max_rss_mb"] < 4000
    # The server served the three jobs and left with the run.
    server_log = (finished_run / "logs" / "plot_server.log").read_text()
    assert "stopped after 3 plot(s)" in server_log
    server_pid = int(re.search(r"plot server (\d+) listening", server_log)[1])
    assert not Path(f"/proc/{server_pid}").exists()
    # The same data gives the same bytes, also from a second, independent run in
    # fresh processes (no server), of the smallest station (test_plotserver.py
    # compares both ways for every shipped station).
    png = f"results/plots/{MELBOURNE}.png"
    run_snakemake(workflow_copy, "--cores", "1", png, "--config", "plot_server=False")
    assert (workflow_copy / png).read_bytes() == (finished_run / png).read_bytes()
    record = json.loads(
        (workflow_copy / "results/timings/plots" / f"{MELBOURNE}.json").read_text()
    )
    assert record["worker"] == "fresh"
    assert set(record["phases"]) == {"imports", "read", "plot", "save"}
    assert not (workflow_copy / "logs" / "plot_server.log").exists()


def test_each_plot_shows_its_panels_and_matches_its_reference_images(finished_run):
    """The PNGs as a user sees them, read as pixels (tests/png_checks.py): every panel
    drawn in its elements' colours, TMAX above TMIN, a title; and the same image as
    the reviewed reference of each station (Matplotlib-version pinned)."""
    plots = finished_run / "results" / "plots"
    for station in THREE_STATIONS:
        png_checks.check_panels(plots / f"{station}.png")
    if os.environ.get("WEATHERPLOT_REGENERATE_REFERENCE_PNGS"):
        png_checks.REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
        for station in THREE_STATIONS:
            shutil.copyfile(
                plots / f"{station}.png", png_checks.REFERENCE_DIR / f"{station}.png"
            )
        png_checks.REFERENCE_VERSIONS.write_text(
            json.dumps(png_checks.matplotlib_now(), indent=2) + "\n"
        )
        pytest.skip(f"reference images written to {png_checks.REFERENCE_DIR}: look")
    png_checks.require_references()
    for station in THREE_STATIONS:
        png_checks.check_reference(plots / f"{station}.png", station)


def median_run(runs: list[dict]) -> dict:
    """The run with the median wall time (the lower one of an even count)."""
    ordered = sorted(runs, key=lambda run: run["wall"])
    return ordered[(len(ordered) - 1) // 2]


def html_text(html: str) -> str:
    """The HTML's text: tags dropped, entities decoded, white space collapsed."""
    import html as entities

    return " ".join(entities.unescape(re.sub(r"<[^>]+>", "", html)).split())


def test_headline_speedups_are_the_raw_records_own(finished_run):
    """The answers' figures, recomputed here from results/timings/exercise.json
    with this test's own arithmetic (not the report's), are in the Markdown, the
    HTML and timings.json, formatted as the report formats them."""
    timings = finished_run / "results" / "timings"
    raw = json.loads((timings / "exercise.json").read_text())
    methods = raw["methods"]
    time = {
        m: statistics.median(r["wall"] for r in methods[m]["runs"]) for m in methods
    }
    serial, pool, sm = time["serial"], time["pool"], time["snakemake"]
    cpus = raw["cpus"]["usable"]
    n = len(raw["stations"])
    p = min(methods["pool"]["workers"], n, cpus)
    p_sm = min(methods["snakemake"]["workers"], n, cpus)
    run = median_run(methods["snakemake"]["runs"])
    startup = run["first_job_start"] - run["command_start"]
    exit_ = run["command_end"] - run["last_job_end"]
    serial_run = median_run(methods["serial"]["runs"])
    work = serial_run["work_total"] / p_sm
    fan_out = run["last_job_end"] - run["first_job_start"]
    per_job = max(fan_out - work, 0.0)
    pool_run = median_run(methods["pool"]["runs"])
    pool_fixed = pool_run["wall"] - pool_run["loop_seconds"]  # no exit of its own
    serial_plotting = serial - (serial_run["wall"] - serial_run["loop_seconds"])
    expected = {
        "actually": [
            f"the serial loop took {serial:.2f} s",
            f"the Pool of {methods['pool']['workers']} {pool:.2f} s "
            f"(a speedup of {serial / pool:.2f}x)",
            f"`snakemake --cores {methods['snakemake']['workers']}` {sm:.2f} s "
            f"(a speedup of {serial / sm:.2f}x",
            f"; {sm / pool:.2f} times the Pool's time",
            f"its start-up ({startup:.2f} s), its exit ({exit_:.2f} s)",
            *(
                [
                    f"its per-job cost: {per_job:.2f} s of its wall time",
                    f"about {per_job * p_sm / run['jobs']:.3f} s a job on {p_sm} CPUs",
                    f"against {work:.2f} s of plotting per CPU",
                ]
                if fan_out >= work
                # A loop slowed by a busy machine: the fan-out was shorter than its
                # plotting per CPU, and the per-job cost is not measured.
                else [
                    "its per-job cost, which this run cannot measure: its jobs, from "
                    f"the first one's start to the last one's end, took {fan_out:.2f} "
                    f"s, less than the serial loop's plotting spread over {p_sm} CPUs "
                    f"({work:.2f} s)"
                ]
            ),
        ],
        "maximum": [
            f"At most {min(methods['snakemake']['workers'], n, cpus):.2f}x",
            f"the Pool {pool_fixed:.2f} s (interpreter start",
            f"snakemake {startup + exit_:.2f} s ({startup:.2f} s of start-up",
            f"the serial loop's {serial_plotting:.2f} s of plotting",
            f"at most {serial / (pool_fixed + serial_plotting / p):.2f}x for the Pool "
            f"and {serial / (startup + exit_ + serial_plotting / p_sm):.2f}x for "
            "snakemake",
        ],
    }
    report = finished_run / "results" / "report"
    # As a reader of the Markdown sees it: a label's [ ] are written \[ \].
    markdown = " ".join((report / "timing_report.md").read_text().split())
    markdown = re.sub(r"\\(.)", r"\1", markdown)
    html = html_text((report / "timing_report.html").read_text())
    for figures in expected.values():
        for text in figures:
            assert text in markdown, text
            assert text.replace("`", "") in html, text
    # Each timed demo variant's median time, and the speedup over its demo's loop
    # (a demo without a prediction, such as shared_list, contended and start_methods,
    # reports what it found in its own words, checked in test_demos and
    # test_free_threaded_run, not "took" sentences).
    for path in sorted((timings / "demos").glob("*.json")):
        if path.stem in ("shared_list", "contended", "start_methods"):
            continue  # (start_methods: its own table, checked in test_startmethod)
        record = json.loads(path.read_text())
        variants = record.get("variants") or []
        method = f" (start method {record['start_method']})"
        medians = {
            v["label"]
            + (method if v["kind"] == "processes" else ""): statistics.median(
                v["times"]
            )
            for v in variants
        }
        loop = [statistics.median(v["times"]) for v in variants if v["name"] == "loop"]
        for label, seconds in medians.items():
            assert f"{label} took {seconds:.2f} s" in markdown, (path.name, label)
            assert f"{label} took {seconds:.2f} s" in html, (path.name, label)
            if loop and seconds != loop[0] and path.stem == "sleep":
                speedup = f"Its speedup over the loop: {loop[0] / seconds:.2f}x"
                assert f"{label} took {seconds:.2f} s against the lesson's" in markdown
                assert speedup in markdown, (path.name, label, speedup)
    # timings.json holds the same figures, unrounded.
    figures = json.loads((report / "timings.json").read_text())["exercise"]
    got = figures["methods"]
    for method, seconds in time.items():
        assert got[method]["time"] == pytest.approx(seconds, rel=1e-12)
        assert got[method]["speedup"] == pytest.approx(serial / seconds, rel=1e-12)
    assert got["snakemake"]["parts"]["startup"] == pytest.approx(startup, rel=1e-12)
    assert got["snakemake"]["parts"]["exit"] == pytest.approx(exit_, rel=1e-12)
    assert got["snakemake"]["parts"]["per_job"] == pytest.approx(per_job, abs=1e-12)
    assert got["pool"]["fixed"] == pytest.approx(pool_fixed, rel=1e-12)
    assert got["pool"]["max_with_fixed"] == pytest.approx(
        serial / (pool_fixed + serial_plotting / p), rel=1e-12
    )


def test_a_deleted_plot_is_planned_again_with_the_report(finished_run, tmp_path):
    """A plot the user deletes is planned again, alone, with the report after it.
    Snakemake looks for a job's missing outputs only from a job that runs anyway:
    here rule all, which lists every plot. A report that took the plots as input and
    an all that asked only for the report (each file listed once: -8 % of a
    10,000-station dry run's instructions) left a deleted plot missing for good."""
    workdir = tmp_path / "copy"
    shutil.copytree(finished_run, workdir, symlinks=True)
    station = THREE_STATIONS[1]
    before = run_snakemake(workdir, "-n", "--cores", "2")
    assert "Nothing to be done" in before.stdout + before.stderr, before.stdout
    (workdir / "results" / "plots" / f"{station}.png").unlink()
    run = run_snakemake(workdir, "-n", "--cores", "2")
    expected = {"all": 1, "plot_station": 1, "timing_report": 1, "total": 3}
    assert planned_jobs(run) == expected, run.stdout
    assert f"results/plots/{station}.png" in run.stdout
