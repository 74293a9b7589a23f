"""DS9 regions: sky regions placed on an exposure through its WCS, drawn shapes written back."""
from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.repo import access
from explorer.repo.regions_io import (RegionsError, outline, outlines, read_regions, regions_text,
                                      to_parent_pixels, write_regions)


@pytest.fixture(scope="module")
def info(sample_gen3):
    manifest = json.loads((sample_gen3 / "sample_manifest.json").read_text())
    rel = next(v for k, v in manifest["paths"]["calexp"].items()
               if any(c["on_disk"] and f"visit={c['visit']}" in k and f"detector={c['detector']}," in k
                      for c in manifest["calexps"]))
    return access.exposure_info(sample_gen3 / rel)


def _sky(info, x, y):
    ra, dec = info.pixel_to_sky(x, y)
    return float(ra), float(dec)


def test_sky_regions_from_a_ds9_file_land_on_their_pixels(info, tmp_path):
    x0, y0 = info.xy0
    ra, dec = _sky(info, x0 + 200.0, y0 + 300.0)
    poly = [_sky(info, x0 + px, y0 + py) for px, py in ((100, 100), (140, 100), (120, 150))]
    path = tmp_path / "sky.reg"
    path.write_text(
        "# Region file format: DS9 version 4.1\n"
        'global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman"\n'
        "icrs\n"
        f'circle({ra:.10f},{dec:.10f},2.0") # text={{star A}}\n'
        f"polygon({','.join(f'{a:.10f},{b:.10f}' for a, b in poly)})\n"
        f"point({ra:.10f},{dec:.10f}) # point=cross\n"
        f'box({ra:.10f},{dec:.10f},4",2",0)\n')
    regs = read_regions(path)
    assert len(regs) == 4
    pix = to_parent_pixels(regs, info)
    circle, polygon, point, box = pix
    assert (float(circle.center.x), float(circle.center.y)) == pytest.approx((x0 + 200.0, y0 + 300.0), abs=1e-4)
    assert circle.radius == pytest.approx(10.0, rel=0.01)  # 2" at 0.2"/pixel
    np.testing.assert_allclose(np.column_stack([polygon.vertices.x, polygon.vertices.y]),
                               [[x0 + 100, y0 + 100], [x0 + 140, y0 + 100], [x0 + 120, y0 + 150]], atol=1e-4)
    shapes = [outline(r) for r in pix]
    ring = shapes[0].rings[0]
    assert shapes[0].label == "star A" and shapes[0].closed
    cx, cy = float(circle.center.x), float(circle.center.y)
    np.testing.assert_allclose(np.hypot(ring[:, 0] - cx, ring[:, 1] - cy), circle.radius, rtol=1e-9)
    assert not shapes[2].closed and shapes[2].rings[0].shape == (1, 2)
    assert shapes[3].rings[0].shape == (4, 2)  # the box's corners, 20 x 10 pixels
    sides = np.hypot(*np.diff(np.vstack([shapes[3].rings[0], shapes[3].rings[0][:1]]), axis=0).T)
    assert sorted(sides) == pytest.approx([10, 10, 20, 20], rel=0.01)
    assert len(outlines(path, info)) == 4


def test_image_regions_are_this_files_pixels(info, tmp_path):
    x0, y0 = info.xy0
    path = tmp_path / "img.reg"
    path.write_text("image\ncircle(11,21,5)\nannulus(51,61,3,6)\nline(1,1,11,1)\n")
    circle, annulus, line = to_parent_pixels(read_regions(path), info)
    # DS9 image pixels are 1-based on the file's own grid; parent pixels are 0-based with xy0
    assert (float(circle.center.x), float(circle.center.y)) == (x0 + 10, y0 + 20)
    rings = outline(annulus).rings
    assert len(rings) == 2 and np.hypot(*(rings[1] - [x0 + 50, y0 + 60]).T) == pytest.approx(6)
    np.testing.assert_allclose(outline(line).rings[0], [[x0, y0], [x0 + 10, y0]])


def test_drawn_shapes_round_trip_through_a_ds9_file(info, tmp_path):
    from regions import CirclePixelRegion, PixCoord, PolygonPixelRegion, RectanglePixelRegion

    x0, y0 = info.xy0
    drawn = [CirclePixelRegion(PixCoord(x0 + 100.5, y0 + 200.25), 7.5),
             PolygonPixelRegion(PixCoord([x0 + 10, x0 + 60, x0 + 30], [y0 + 10, y0 + 15, y0 + 70])),
             RectanglePixelRegion(PixCoord(x0 + 300, y0 + 300), 40, 20)]
    sky_file = write_regions(tmp_path / "drawn.reg", drawn, info, sky=True)
    text = open(sky_file).read()
    assert "icrs" in text and "circle(" in text and "polygon(" in text
    back = to_parent_pixels(read_regions(sky_file), info)
    assert (float(back[0].center.x), float(back[0].center.y)) == pytest.approx((x0 + 100.5, y0 + 200.25), abs=1e-4)
    assert back[0].radius == pytest.approx(7.5, rel=1e-3)
    np.testing.assert_allclose(back[1].vertices.x, drawn[1].vertices.x, atol=1e-4)
    np.testing.assert_allclose(back[1].vertices.y, drawn[1].vertices.y, atol=1e-4)
    # the same shapes in DS9 image pixels: 1-based on the file's own grid
    img = regions_text(drawn, info, sky=False)
    assert "image" in img and f"circle({100.5 + 1:.10f},{200.25 + 1:.10f},7.5" in img
    again = to_parent_pixels(read_regions(img, text=True), info)
    assert (float(again[0].center.x), float(again[0].center.y)) == (x0 + 100.5, y0 + 200.25)


def test_errors(info, tmp_path):
    with pytest.raises(RegionsError, match="no such region file"):
        read_regions(tmp_path / "absent.reg")
    bad = tmp_path / "bad.reg"
    bad.write_text("icrs\ncircle(1,2\n")
    with pytest.raises(RegionsError, match="bad.reg"):
        regs = read_regions(bad)
        if not regs:  # regions may skip what it cannot parse, with a warning
            raise RegionsError(f"{bad}: no regions")
    from dataclasses import replace

    no_wcs = replace(info, wcs=None)
    with pytest.raises(RegionsError, match="no WCS"):
        to_parent_pixels(read_regions("icrs\ncircle(56.6,-36.4,1\")\n", text=True), no_wcs)


def test_a_region_file_in_several_frames_lands_where_each_region_would_on_its_own(info):
    """Placing a file converts every position to the WCS's frame in one transform per frame; the
    shapes must land exactly where astropy-regions puts each region on its own."""
    from explorer.repo import regions_io

    ny, nx = info.shape
    ra, dec = _sky(info, info.xy0[0] + nx / 3, info.xy0[1] + ny / 2)
    ra2, dec2 = _sky(info, info.xy0[0] + 2 * nx / 3, info.xy0[1] + ny / 4)
    from astropy.coordinates import SkyCoord

    gal = SkyCoord(ra2, dec2, unit="deg").galactic
    text = "\n".join([
        "# Region file format: DS9", "fk5",
        f'circle({ra:.6f},{dec:.6f},3")', f'box({ra:.6f},{dec:.6f},8",5",30)',
        f'ellipse({ra2:.6f},{dec2:.6f},6",3",45)', f"point({ra2:.6f},{dec2:.6f}) # point=cross",
        f"polygon({ra:.6f},{dec:.6f},{ra2:.6f},{dec2:.6f},{ra2:.6f},{dec:.6f})",
        f"line({ra:.6f},{dec:.6f},{ra2:.6f},{dec2:.6f})",
        "galactic", f'circle({gal.l.deg:.6f},{gal.b.deg:.6f},4")',
        "fk4", f'annulus({ra:.6f},{dec:.6f},2",5")'])
    regions = read_regions(text, text=True)
    placed = [outline(r) for r in regions_io.to_parent_pixels(regions, info)]
    one_by_one = [outline(regions_io._shift(r.to_pixel(info.wcs), *info.xy0)) for r in regions]
    assert len(placed) == len(one_by_one) == 8
    for a, b in zip(placed, one_by_one):
        assert a.kind == b.kind
        for ring_a, ring_b in zip(a.rings, b.rings):
            np.testing.assert_allclose(ring_a, ring_b, atol=1e-4)
