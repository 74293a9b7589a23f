"""Issue 11's friction on the sky map and the exposure information, in a real Chromium.

The colour bar of the tract colouring follows the "Colour tracts by" toggle live; hovering over
overlapping tracts and patches gives one tooltip; the tract and patch labels are drawn above the
layers and outlines on a light box; patch labels shrink, then hide, when patches are too small on
screen; a tap on a patch without data says so under the map (grey, not an error) and keeps the
selection; WCS values are shown whole in the information tab. Screenshots go to
``test-artifacts/browser/sky-friction-*.png``.
"""
from __future__ import annotations

import re

import pytest
from pagekit import ARTIFACTS

pytestmark = pytest.mark.browser

# the sky figure's own models (explorer.views.sky: colour bars, label renderers, outlines)
JS_SKY_MODELS = """
() => {
  const out = {};
  for (const m of Bokeh.documents[0].all_models) {
    const name = m.name;
    if (!name || !String(name).startsWith('explorer-')) continue;
    if (m.color_mapper !== undefined && m.title !== undefined) {
      out[name] = {title: m.title, visible: m.visible, low: m.color_mapper.low, high: m.color_mapper.high};
    } else if (m.glyph !== undefined) {
      out[name] = {visible: m.visible, level: m.level, type: m.glyph.type,
                   font: m.glyph.text_font_size == null ? null
                         : (m.glyph.text_font_size.value !== undefined ? m.glyph.text_font_size.value
                            : m.glyph.text_font_size),
                   background: m.glyph.background_fill_color == null ? null
                               : (m.glyph.background_fill_color.value !== undefined
                                  ? m.glyph.background_fill_color.value : m.glyph.background_fill_color),
                   text: m.data_source.data.text === undefined ? null : Array.from(m.data_source.data.text)};
    }
  }
  return out;
}
"""

# the renderers of the sky figure, in drawing order: [name, level, glyph type]
JS_SKY_ORDER = """
() => {
  for (const m of Bokeh.documents[0].all_models) {
    if (m.renderers && m.below && m.below.length && m.below[0].axis_label === 'RA (deg)')
      return m.renderers.map(r => [r.name || '', r.level, r.glyph ? r.glyph.type : '']);
  }
  return null;
}
"""

# the tooltips shown now (their text), wherever Bokeh puts them (shadow roots included)
JS_TOOLTIPS = """
() => {
  const found = [];
  function walk(root) {
    for (const el of root.querySelectorAll('*')) {
      if (el.classList && el.classList.contains('bk-Tooltip')) {
        const st = getComputedStyle(el);
        if (st.display !== 'none' && st.visibility !== 'hidden' && el.offsetWidth > 0 && el.offsetHeight > 0)
          found.push(el.innerText || (el.shadowRoot ? el.shadowRoot.textContent : ''));
      }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  }
  walk(document);
  return found;
}
"""


# the fill colours of the tract polygons (the sky figure's renderer with one polygon per tract)
JS_FILLS = """
() => {
  for (const m of Bokeh.documents[0].all_models) {
    if (m.glyph && m.data_source && m.data_source.data.color && m.data_source.data.xs
        && m.data_source.data.xs.length === 4 && m.glyph.type === 'MultiPolygons')
      return Array.from(m.data_source.data.color).sort();
  }
  return null;
}
"""


def sky_models(p):
    return p.page.evaluate(JS_SKY_MODELS)


_CENTRES: dict[tuple[str, int, str], tuple[float, float]] = {}


def patch_centre(repo, tract: int, patch: str) -> tuple[float, float]:
    """The centre (RA, Dec) of a patch, from the sample's registry regions."""
    import numpy as np

    from explorer.state import ExplorerState

    key = (str(repo), tract, patch)
    if key not in _CENTRES:
        verts = ExplorerState(str(repo)).index.patch_regions(tract)[patch]
        _CENTRES[key] = (float(np.mean(verts[:, 0])), float(np.mean(verts[:, 1])))
    return _CENTRES[key]


def sky_shot(p, name: str) -> None:
    p.page.locator(".sky-plot").first.screenshot(path=str(ARTIFACTS / f"sky-friction-{name}.png"))


def test_the_colour_bar_follows_the_colouring_live(open_page):
    p = open_page()
    bar = p.wait_for(lambda: sky_models(p).get("explorer-sky-colorbar"), "the sky map's colour bar")
    assert bar["visible"] and bar["title"] == "bands with coadds" and bar["high"] >= 3
    assert not sky_models(p)["explorer-coverage-colorbar"]["visible"]  # no coverage layer on the sample
    sky_shot(p, "bands")
    p.page.locator(".sky-plot").first.scroll_into_view_if_needed()
    p.page.locator("button", has_text="visits").first.click()
    p.wait_for(lambda: sky_models(p)["explorer-sky-colorbar"]["title"] == "visits overlapping",
               "the colour bar to say visits, live")
    bar = sky_models(p)["explorer-sky-colorbar"]
    assert bar["visible"] and bar["low"] == 0 and bar["high"] == 6  # tract 3828: the sample's 6 visits
    # the tracts take the bar's colours: tract 3828 (6 visits) its darkest, the others (none) its lightest
    from explorer.views.sky import tract_color_scale

    scale = tract_color_scale({3828: {"visits": 6}}, "visits")
    p.wait_for(lambda: p.page.evaluate(JS_FILLS) == sorted([scale.color(6)] + 3 * [scale.color(0)]),
               "the tracts coloured by visits")
    p.page.wait_for_timeout(300)
    sky_shot(p, "visits")
    p.page.locator("button", has_text="bands").first.click()
    p.wait_for(lambda: sky_models(p)["explorer-sky-colorbar"]["title"] == "bands with coadds",
               "the colour bar to say bands again")
    assert p.errors == []


def test_hovering_overlapping_glyphs_gives_one_tooltip(open_page, server):
    p = open_page()
    ra, dec = patch_centre(server["repo"], 3828, "3,0")
    _, dec1 = patch_centre(server["repo"], 3828, "3,1")
    # on the border strip shared by patches 3,0 and 3,1 of tract 3828: two patches and the tract
    # lie under the pointer
    p.page.mouse.move(*p.to_page("RA (deg)", ra, (dec + dec1) / 2))
    tips = p.wait_for(lambda: p.page.evaluate(JS_TOOLTIPS), "a tooltip")
    p.page.wait_for_timeout(500)
    tips = p.page.evaluate(JS_TOOLTIPS)
    p.shot("sky-friction-hover-patch")
    assert len(tips) == 1, tips
    assert "of tract 3828" in tips[0] and tips[0].count("patch ") == 1, tips
    # over another tract: that tract, alone
    ra2, dec2 = patch_centre(server["repo"], 4026, "3,3")
    p.page.mouse.move(*p.to_page("RA (deg)", ra2, dec2))
    p.wait_for(lambda: any("tract 4026" in t for t in p.page.evaluate(JS_TOOLTIPS)), "the tract 4026 tooltip")
    tips = p.page.evaluate(JS_TOOLTIPS)
    assert len(tips) == 1 and "tract 4026" in tips[0] and "coadds in g r i" in tips[0], tips
    assert p.errors == []


def test_labels_are_drawn_above_the_layers_on_a_light_box(open_page):
    # a calexp with its outline, and the footprints: what garbled "3,3" into "3/3"
    p = open_page("?kind=calexp&footprints=1")
    models = p.wait_for(lambda: sky_models(p).get("explorer-tract-labels") and sky_models(p), "the labels")
    tracts, patches = models["explorer-tract-labels"], models["explorer-patch-labels"]
    assert {"3828", "3829", "4025", "4026"} <= set(tracts["text"]) and tracts["background"] == "#ffffff"
    assert patches["text"] == ["3,3", "4,3"] and patches["background"] == "#ffffff"
    order = p.page.evaluate(JS_SKY_ORDER)
    names = [name for name, _level, _type in order]
    # drawn after every polygon layer and the selection outlines
    assert names.index("explorer-highlights") < names.index("explorer-patch-labels")
    assert names.index("explorer-patch-labels") < names.index("explorer-tract-labels")
    assert all(level == "overlay" for name, level, _t in order if name.endswith("-labels"))
    assert all(level != "overlay" for name, level, _t in order if not name.endswith("-labels"))
    p.page.wait_for_timeout(1000)
    sky_shot(p, "labels-over-footprints")
    assert p.errors == []


def test_tapping_a_patch_without_data_says_so_and_keeps_the_selection(open_page, server):
    p = open_page()
    assert p.value("w-tract") == "3828" and p.value("w-patch") == "3,3"
    title = p.text(".image-title")
    p.page.mouse.click(*p.to_page("RA (deg)", *patch_centre(server["repo"], 3828, "5,5")))
    note = p.wait_for(lambda: p.text(".sky-note"), "the note under the sky map")
    assert "patch 5,5 of tract 3828 has no data" in note
    assert p.page.locator(".sky-note").first.evaluate("e => getComputedStyle(e).color") == "rgb(85, 85, 85)"
    assert not p.page.locator(".explorer-error:visible").count()  # information, not a problem
    assert p.value("w-tract") == "3828" and p.value("w-patch") == "3,3" and p.text(".image-title") == title
    sky_shot(p, "no-data-note")
    p.shot("sky-friction-no-data-note-page")
    # a tap that selects clears it
    p.page.mouse.click(*p.to_page("RA (deg)", *patch_centre(server["repo"], 3828, "4,3")))
    p.wait_for(lambda: p.value("w-patch") == "4,3", "patch 4,3 to be selected")
    p.wait_for(lambda: not p.page.locator(".sky-note").first.is_visible(), "the note to go")
    assert p.errors == []


# zoom the sky map about its centre by a factor (> 1: zoom out), as the wheel does
JS_ZOOM = """
(factor) => { for (const m of Bokeh.documents[0].all_models)
  if (m.below && m.below.length && m.below[0].axis_label === 'RA (deg)') {
    const c = (m.y_range.start + m.y_range.end) / 2, h = (m.y_range.end - m.y_range.start) * factor;
    const cx = (m.x_range.start + m.x_range.end) / 2, w = (m.x_range.end - m.x_range.start) * factor;
    m.y_range.setv({start: c - h / 2, end: c + h / 2});
    m.x_range.setv({start: cx - w / 2, end: cx + w / 2});
  } }
"""


def test_patch_labels_shrink_then_hide_when_patches_are_small_on_screen(open_page, server):
    """Patches get small on screen in a narrow view (a JupyterLab notebook) or zoomed out: the
    labels shrink, then hide, rather than overlap ("3,34,3"); zoomed in they come back."""
    from explorer.state import ExplorerState
    from explorer.views.sky import TRACT_LABEL_FONTS, label_font, patch_height_deg

    idx = ExplorerState(str(server["repo"])).index
    size = patch_height_deg(idx.patch_regions(3828))
    tract_size = patch_height_deg({str(t): v for t, v in idx.tract_regions().items()})
    p = open_page()
    p.wait_for(lambda: sky_models(p).get("explorer-patch-labels"), "the patch labels")

    def patch_px(deg=size):
        g = p.plot("RA (deg)")
        return deg / abs(g["y1"] - g["y0"]) * g["height"]

    def shown(name="explorer-patch-labels"):
        m = sky_models(p)[name]
        return (m["visible"], m["font"] if m["visible"] else None)

    def expected():
        font = label_font(patch_px(), 3)
        return (font is not None, font)

    def tracts_expected():  # the tract ids follow the same rule on the tracts' size ("38293828" no more)
        font = label_font(patch_px(tract_size), 4, TRACT_LABEL_FONTS)
        return (font is not None, font)

    assert shown() == expected() and shown()[0]
    seen = set()
    for factor in (1.3, 1.3, 1.5, 2.0):  # zoom out step by step: patches get smaller on screen
        p.page.evaluate(JS_ZOOM, factor)
        p.wait_for(lambda: shown() == expected(), f"the labels to follow the zoom ({patch_px():.1f} px patches)")
        p.wait_for(lambda: shown("explorer-tract-labels") == tracts_expected(), "the tract ids to follow the zoom")
        seen.add(shown())
        if shown() == (True, "6pt"):
            sky_shot(p, "labels-small")
    sky_shot(p, "labels-hidden")
    assert (True, "6pt") in seen and (False, None) in seen, seen
    assert shown("explorer-tract-labels") != (True, "9pt")  # zoomed out: smaller tract ids (or none)
    p.page.evaluate(JS_ZOOM, 1 / 12)  # zoom in: full size again
    p.wait_for(lambda: shown() == (True, "8pt"), "full-size labels when zoomed in")
    sky_shot(p, "labels-zoomed-in")
    assert p.errors == []


# the cells of the visible WCS table (Panel renders Tabulator in shadow roots)
JS_WCS_CELLS = """
() => {
  const tables = [];
  function walk(root) {
    for (const el of root.querySelectorAll('*')) {
      if (el.classList && el.classList.contains('tabulator') && el.offsetParent) tables.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  }
  walk(document);
  const wcs = tables.find(t => t.innerText.includes('CTYPE') && t.innerText.includes('pixel scale'));
  if (!wcs) return [];
  return Array.from(wcs.querySelectorAll('.tabulator-cell')).map(cell => ({
    text: cell.innerText, cut: cell.scrollWidth > cell.clientWidth + 1 || cell.scrollHeight > cell.clientHeight + 1}));
}
"""


def test_wcs_values_are_shown_whole(open_page):
    p = open_page()
    tab = p.page.locator(".bk-tab", has_text="WCS").first
    tab.scroll_into_view_if_needed()
    tab.click()
    p.wait_for(lambda: any(c["text"].startswith("CD") for c in p.page.evaluate(JS_WCS_CELLS)), "the WCS table")
    p.page.wait_for_timeout(500)
    cells = p.page.evaluate(JS_WCS_CELLS)
    p.shot("sky-friction-wcs")
    assert [c for c in cells if len(re.findall(r"e[+-]\d\d", c["text"])) == 4], cells  # the CD matrix, whole
    cut = [c["text"] for c in cells if c["cut"] and c["text"].strip()]
    assert not cut, cut
    assert p.errors == []
