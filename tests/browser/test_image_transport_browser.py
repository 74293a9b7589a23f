"""The image travels as a PNG (or lossless WebP) data URL (issue 12), in a real Chromium: the
canvas shows the frame where the plot places it, and a band change sends a new image.

The server, browser and page opener are the fixtures of ``conftest.py`` (the explorer served on
the ``sample_gen3`` repository). Screenshots go to ``<repo>/test-artifacts/browser/``.
"""
from __future__ import annotations

import io
import re

import numpy as np
import pytest

pytestmark = pytest.mark.browser

IMAGE_X = "x (parent pixels)"


def _canvas_pixels(p, g) -> np.ndarray:
    """The plot frame's pixels as the page paints them (RGB, rows top to bottom)."""
    from PIL import Image

    png = p.page.screenshot(clip={"x": g["left"] + 2, "y": g["top"] + 2, "width": g["width"] - 4,
                                  "height": g["height"] - 4})
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float)


def test_the_canvas_shows_the_encoded_frame_and_follows_a_band_change(open_page):
    p = open_page()
    p.page.locator(".image-plot").first.scroll_into_view_if_needed()
    shown = p.wait_for(lambda: (s := p.plot_image(IMAGE_X)) and s["glyph"] == "ImageURL" and s,
                       "the image, decoded from its data URL")
    g = p.plot(IMAGE_X)
    # the frame is placed on the axes: its corners are the coadd's (the view shows it whole)
    assert shown["x"] == pytest.approx(g["x0"], abs=1) and shown["y"] == pytest.approx(g["y0"], abs=1)
    assert shown["dw"] == pytest.approx(g["x1"] - g["x0"], abs=1)
    assert shown["shape"][0] > 2 and shown["shape"][1] > 2
    pixels = _canvas_pixels(p, g)
    lum = pixels.mean(axis=2)
    # painted: not the page's white, not one flat colour, and as bright as the decoded frame
    assert (lum > 250).mean() < 0.05, (lum > 250).mean()
    assert lum.std() > 5, lum.std()
    assert abs(lum.mean() - np.mean(shown["means"])) < 12, (lum.mean(), shown["means"])
    # the image is right side up: the canvas's top rows are the frame's top cells
    cells = p.plot_image(IMAGE_X, cells=True)
    frame_lum = np.asarray(cells["lum"], float).reshape(cells["shape"])[::-1]  # top row first
    h = lum.shape[0]
    top, bottom = lum[: h // 4].mean(), lum[-(h // 4):].mean()
    ft, fb = frame_lum[: len(frame_lum) // 4].mean(), frame_lum[-(len(frame_lum) // 4):].mean()
    assert (top - bottom) * (ft - fb) >= 0 or abs(top - bottom) < 2, (top, bottom, ft, fb)
    p.shot("transport-01-image")
    # another band: a new image travels and is drawn
    current = re.search(r"band (\w+)", p.text(".image-title")).group(1)
    other = "r" if current != "r" else "g"
    p.page.locator(".w-band button", has_text=other).first.click()
    p.wait_for(lambda: f"band {other}" in p.text(".image-title"), f"the {other}-band coadd")
    after = p.wait_for(lambda: (s := p.plot_image(IMAGE_X)) and s["means"] != shown["means"] and s,
                       "the new band's image to be decoded")
    assert after["glyph"] == "ImageURL"
    p.page.wait_for_timeout(500)
    assert not np.array_equal(_canvas_pixels(p, p.plot(IMAGE_X)), pixels)
    assert p.errors == []
