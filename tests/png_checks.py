"""Checks of a saved station PNG, read as pixels (Pillow + NumPy), independent of the
plot code: nothing here imports weatherplot.

Two kinds of check:

- ``check_panels``: every panel has drawn pixels in the colours of its elements, the
  daily panel's TMAX line is above its TMIN line, the title strip is not blank. It
  holds for any station with TMAX, TMIN and PRCP, on any Matplotlib version.
- ``check_reference``: the PNG matches the reviewed reference image of its station
  (tests/fixtures/reference-png/), panel by panel, within a tolerance; this is what
  catches a wrong unit or wrong values. Rendering differs between Matplotlib (and
  FreeType) versions, so the references are pinned to the version recorded beside
  them (and the test extra pins that Matplotlib, whose wheel brings its FreeType); on
  another version the test is skipped with the command that regenerates them
  (README.md in that folder: regenerate, then look at every image), and under
  ``CI=true`` it fails with that command instead: CI never skips them.

The colours and panel boxes are hard-coded here on purpose (read off the PNGs of the
fixture stations), not imported from weatherplot.plotting: a change of style there
must show up here as a failed test that a person looks at.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REFERENCE_DIR = Path(__file__).resolve().parent / "fixtures" / "reference-png"
REFERENCE_VERSIONS = REFERENCE_DIR / "versions.json"
REGENERATE = (
    "WEATHERPLOT_REGENERATE_REFERENCE_PNGS=1 pytest -n 0 "
    "tests/test_full_run.py -k reference_images"
)

SIZE = (1200, 1050)
# Colours as drawn (opaque lines and bars), RGB.
TMAX = (192, 57, 43)  # #c0392b
TMIN = (36, 113, 163)  # #2471a3
PRCP = (23, 165, 137)  # #17a589
# Boxes (left, top, right, bottom) in pixels, a few pixels inside each axes frame
# (the frames sit at left=0.06, right=0.94, top=0.93, bottom=0.05 of the figure).
TITLE = (0, 0, 1200, 50)
PANELS = {
    "daily": (76, 78, 1124, 340),
    "annual temperature": (76, 429, 544, 667),
    "annual precipitation": (656, 429, 1124, 667),
    "climatology": (76, 756, 544, 994),
    "summary": (656, 756, 1195, 994),
}


def load(png: Path | bytes) -> np.ndarray:
    """The PNG as an (height, width, 3) int array."""
    import io

    source = io.BytesIO(png) if isinstance(png, bytes) else png
    with Image.open(source) as image:
        return np.asarray(image.convert("RGB")).astype(int)


def crop(pixels: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    left, top, right, bottom = box
    return pixels[top:bottom, left:right]


def near(pixels: np.ndarray, colour: tuple[int, int, int], tol: int = 25):
    """Mask of pixels within ``tol`` of ``colour`` in every channel."""
    return np.abs(pixels - np.array(colour)).max(axis=2) <= tol


def dark(pixels: np.ndarray):
    """Mask of text-like pixels (black or dark grey, antialiased)."""
    return pixels.max(axis=2) < 110


def blended(colour, alpha: float):
    """``colour`` drawn at ``alpha`` over white."""
    return tuple(round(255 - alpha * (255 - c)) for c in colour)


def above_in_most_columns(upper, lower, share: float = 0.9) -> bool:
    """Whether, in the columns holding both masks' pixels, ``upper``'s pixels lie
    above (smaller row) ``lower``'s in at least ``share`` of them."""
    rows = np.arange(upper.shape[0])[:, None]
    both = upper.any(axis=0) & lower.any(axis=0)
    if both.sum() < 10:
        return False
    up = (rows * upper).sum(axis=0)[both] / upper.sum(axis=0)[both]
    low = (rows * lower).sum(axis=0)[both] / lower.sum(axis=0)[both]
    return bool(np.mean(up < low) >= share)


def check_panels(png: Path | bytes) -> None:
    """Assert what any station with TMAX, TMIN and PRCP must show (see module)."""
    pixels = load(png)
    assert pixels.shape == (SIZE[1], SIZE[0], 3), pixels.shape
    title = dark(crop(pixels, TITLE))
    assert title.sum() > 1500, "the title strip is (nearly) blank"
    columns = np.flatnonzero(title.any(axis=0))
    assert columns[-1] - columns[0] > 500, "the title is not one long line of text"

    daily = crop(pixels, PANELS["daily"])
    tmax, tmin = near(daily, TMAX), near(daily, TMIN)
    # Each smoothed line runs across the panel (~1000 columns, 2 pixels thick).
    for name, mask in (("TMAX", tmax), ("TMIN", tmin)):
        assert mask.any(axis=0).mean() > 0.8, f"daily panel: no {name} line across"
    assert above_in_most_columns(tmax, tmin), "daily panel: TMAX not above TMIN"
    # The daily ranges: light bands of both colours (alpha 0.3, or 0.25 per year).
    for name, colour in (("TMAX", TMAX), ("TMIN", TMIN)):
        band = near(daily, blended(colour, 0.3), tol=20)
        assert band.mean() > 0.05, f"daily panel: no {name} band"

    annual = crop(pixels, PANELS["annual temperature"])
    assert near(annual, (64, 64, 64), tol=30).sum() > 500, "annual means: no line"
    assert near(annual, TMAX).sum() > 300, "annual means: no trend line"

    rain = crop(pixels, PANELS["annual precipitation"])
    assert near(rain, PRCP, tol=10).mean() > 0.15, "annual precipitation: no bars"

    clim = crop(pixels, PANELS["climatology"])
    ctmax, ctmin = near(clim, TMAX), near(clim, TMIN)
    assert ctmax.sum() > 400 and ctmin.sum() > 400, "climatology: no TMAX/TMIN line"
    assert above_in_most_columns(ctmax, ctmin), "climatology: TMAX not above TMIN"
    bars = near(clim, blended(PRCP, 0.35), tol=15)
    assert bars.mean() > 0.03, "climatology: no monthly precipitation bars"

    summary = dark(crop(pixels, PANELS["summary"]))
    lines = np.flatnonzero(summary.any(axis=1))
    assert summary.sum() > 1500, "summary panel: no text"
    assert len(lines) > 80, "summary panel: fewer lines of text than expected"


def matplotlib_now() -> dict:
    import matplotlib
    from matplotlib import ft2font

    return {
        "matplotlib": matplotlib.__version__,
        "freetype": ft2font.__freetype_version__,
    }


def reference_skip_reason() -> str | None:
    """Why the references cannot be compared here (None: they can)."""
    if not REFERENCE_VERSIONS.exists():
        return f"no reference images; make them with: {REGENERATE}"
    recorded = json.loads(REFERENCE_VERSIONS.read_text())
    now = matplotlib_now()
    if recorded != now:
        return (
            f"reference images made with {recorded}, this is {now}: regenerate "
            f"them with: {REGENERATE} (and look at each before committing)"
        )
    return None


def require_references() -> None:
    """Skip a reference comparison that cannot be made here, saying why; under
    CI=true fail instead, with the same reason and the regenerate command."""
    reason = reference_skip_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true compares the reference images, but {reason}")
    pytest.skip(reason)


# The regions compared with the reference: each panel with its tick labels and
# axis labels around it (a wrong unit moves nothing inside the axes: autoscaling is
# linear, and so is degC -> degF; only the tick labels and grid lines tell).
REGIONS = {
    "title": TITLE,
    "daily": (0, 50, 1200, 385),
    "annual temperature": (0, 385, 600, 710),
    "annual precipitation": (600, 385, 1200, 710),
    "climatology": (0, 710, 600, 1050),
    "summary": (600, 710, 1200, 1050),
}
# A pixel "differs" when a channel differs by more than this (a grid line, light
# grey at alpha 0.3, is 24 below white); a region differs when more than
# MAX_DIFFERING of its pixels do. The same versions render the same bytes: the
# tolerance only absorbs antialiasing noise.
DIFFERENCE = 12
MAX_DIFFERING = 0.0005


def differing_panels(png: Path | bytes, reference: Path) -> dict[str, float]:
    """The share of differing pixels of each region that differs from ``reference``
    by more than the tolerance (empty: it matches)."""
    pixels, expected = load(png), load(reference)
    assert pixels.shape == expected.shape, (pixels.shape, expected.shape)
    far = np.abs(pixels - expected).max(axis=2) > DIFFERENCE
    shares = {name: float(crop(far, box).mean()) for name, box in REGIONS.items()}
    return {name: share for name, share in shares.items() if share > MAX_DIFFERING}


def check_reference(png: Path | bytes, station: str) -> None:
    reference = REFERENCE_DIR / f"{station}.png"
    differing = differing_panels(png, reference)
    assert not differing, (
        f"{station}: differs from {reference} (share of pixels) in {differing}; "
        f"if the change is meant, regenerate with {REGENERATE} and look at it"
    )
