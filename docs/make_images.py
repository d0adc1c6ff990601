"""Regenerate the README's two pictures from a finished run.

    python docs/make_images.py            # after `snakemake --cores 4`

docs/images/station_plot.png: one station's plot (results/plots/<id>.png), scaled
down; docs/images/report.png: the top of results/report/timing_report.html (its title,
run details, contents and the first answers) as headless Chromium shows it in a
1200 x 1400 window, scaled down. Both are reduced
to a 256-colour palette to stay small (< 150 KB). Needs Pillow (a Matplotlib
dependency) and, for the report, Chromium (`apt-get install -y chromium`).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "docs" / "images"


def save_small(image: Image.Image, width: int, dest: Path) -> None:
    """Scale to ``width`` pixels and save as a palette PNG."""
    height = round(image.height * width / image.width)
    small = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    small.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        dest, optimize=True
    )
    print(f"{dest.relative_to(REPO)}: {width}x{height}, {dest.stat().st_size} bytes")


def screenshot(page: Path, dest: Path, chromium: str) -> None:
    """The top (1200 x 1400) of ``page`` in headless Chromium."""
    subprocess.run(
        [
            chromium,
            *("--headless", "--no-sandbox", "--disable-gpu"),
            "--disable-background-networking",
            "--hide-scrollbars",
            f"--screenshot={dest}",
            "--window-size=1200,1400",
            page.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--station", default="UK000056225", help="default: Oxford")
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args(argv)
    IMAGES.mkdir(parents=True, exist_ok=True)
    with Image.open(args.results / "plots" / f"{args.station}.png") as plot:
        save_small(plot, 600, IMAGES / "station_plot.png")
    with tempfile.TemporaryDirectory() as tmp:
        shot = Path(tmp) / "report.png"
        screenshot(args.results / "report" / "timing_report.html", shot, args.chromium)
        with Image.open(shot) as image:
            save_small(image, 800, IMAGES / "report.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
