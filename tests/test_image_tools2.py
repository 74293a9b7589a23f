"""The image tools' panels (export, RGB, regions, compare) driven without a browser, on the sample."""
from __future__ import annotations

import io

import numpy as np
import pytest

from explorer.app.tools.rgb import default_bands


def test_default_bands_are_irg_or_the_reddest():
    assert default_bands(["g", "r", "i", "z"]) == ["i", "r", "g"]
    assert default_bands(["r", "z", "y"]) == ["y", "z", "r"]
    assert default_bands(["u", "g"]) == ["g", "u", "u"]
    assert default_bands([]) == [None, None, None]


@pytest.fixture(scope="module")
def page(sample_gen3):
    from explorer.app.page import Explorer

    return Explorer(str(sample_gen3)).open_tools()


def test_export_cutouts_and_png(page):
    from astropy.io import fits
    from PIL import Image

    exposure = page.state.exposure()
    ny, nx = exposure.info.shape
    with fits.open(io.BytesIO(page.export.view_fits())) as hdul:  # no plot drawn: the whole frame
        np.testing.assert_array_equal(hdul["IMAGE"].data, exposure.image)
    px, py = exposure.info.xy0[0] + 30, exposure.info.xy0[1] + 40
    ra, dec = (float(v) for v in exposure.info.pixel_to_sky(px, py))
    with fits.open(io.BytesIO(page.export.sky_fits(ra, dec, 11))) as hdul:
        assert hdul["IMAGE"].data.shape == (11, 11)
        assert (-hdul["IMAGE"].header["LTV1"], -hdul["IMAGE"].header["LTV2"]) == (px - 5, py - 5)
    # a centre off the image: said in the panel, an empty download, the page goes on
    page.export.ra.value, page.export.dec.value = (ra + 90.0) % 360.0, dec
    assert page.export._sky_fits().getvalue() == b""
    assert "not on the image" in page.export.message.object
    png = Image.open(io.BytesIO(page.export.view_png()))
    assert png.size == (min(800, nx), min(800, ny))


def test_rgb_panel_follows_its_bands(page):
    assert (page.rgb.red, page.rgb.green, page.rgb.blue) == ("i", "r", "g")
    f1 = page.rgb.render(None, None, 200, 200)
    page.rgb.red = "g"
    f2 = page.rgb.render(None, None, 200, 200)
    page.rgb.red = "i"
    assert f1.rgb.shape == (200, 200, 3) and f1.bands == ("i", "r", "g") and f2.bands == ("g", "r", "g")
    assert not np.array_equal(f1.rgb[..., 0], f2.rgb[..., 0])
    np.testing.assert_array_equal(f2.rgb[..., 0], f2.rgb[..., 2])


def test_regions_overlay_import_and_drawn_export(page):
    import holoviews as hv
    from bokeh.plotting import figure
    from regions import Regions

    from explorer.app.tools.regions import _build, install_drawing_tools
    from explorer.errors import ExplorerError

    st = page.state
    info = st.exposure().info
    px, py = info.xy0[0] + 100.0, info.xy0[1] + 200.0
    ra, dec = (float(v) for v in info.pixel_to_sky(px, py))
    with pytest.raises(ExplorerError, match="no DS9 regions"):
        page.regions.import_text("this is not a region file (")
    assert page.regions.import_text(f"fk5\ncircle({ra},{dec},2\")\n") == 1
    path = _build(st, None, None)
    assert isinstance(path, hv.Path)
    ring = path.split()[0].array()
    # (regions places it through the FITS WCS; pixel_to_sky may use the exact archived SkyWcs)
    assert abs(ring[:-1, 0].mean() - px) < 0.25 and abs(ring[:-1, 1].mean() - py) < 0.25

    class Plot:  # what a HoloViews hook receives: .state is the Bokeh figure
        state = figure()

    install_drawing_tools(Plot)
    install_drawing_tools(Plot)  # idempotent
    assert sum(type(t).__name__ == "BoxEditTool" for t in Plot.state.tools) == 1
    boxes = next(r for r in Plot.state.renderers if r.name == "drawn-boxes")
    boxes.data_source.data = {"x": [px], "y": [py], "width": [20.0], "height": [10.0]}
    page.regions.image = type("Image", (), {"figure": Plot.state})()
    (box,) = Regions.parse(page.regions.export_text(), format="ds9")
    x, y = (float(v) for v in info.sky_to_pixel(box.center.ra.deg, box.center.dec.deg))
    assert abs(x - px) < 0.25 and abs(y - py) < 0.25
    st.regions_ds9 = ""


def test_compare_panel_bands(page):
    c = page.compare
    assert (c.band_a, c.band_b) == ("g", "r")
    c.blink = True
    c._flip()
    assert c.showing_b
    c.blink = False
    assert not c.showing_b and c._callback is None
