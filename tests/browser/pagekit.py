"""What the browser tests share: where Chromium is, the page wrapper and how to find a plot.

:class:`Page` opens the explorer in a Chromium tab, collects its console errors and reads the
page's widgets and Bokeh plots; ``conftest.py`` beside this module holds the fixtures (one
served explorer for every browser module, a Chromium per module, a page opener per test).
"""
from __future__ import annotations

import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

CHROMIUM = "/usr/bin/chromium"
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"

# the frame a Bokeh plot (found by its x label) shows, whichever way it travelled: an ``ImageRGBA``
# glyph (raw RGBA) or an ``ImageURL`` glyph (a PNG or WebP data URL, enlarged ``k`` times for the
# screen: read back at the frame's cells once the browser has decoded it; null while it loads).
# Argument: the x label, or [x label, true] to get every cell's brightness (``lum``, rows bottom
# to top). Returns {glyph, title, shape [rows, columns], x, y (bottom-left corner), dw, dh,
# means [r, g, b], n, lum?}.
JS_PLOT_IMAGE = """
(arg) => {
  const [xlabel, cells] = Array.isArray(arg) ? arg : [arg, false];
  const seen = new Set();
  let found = null;
  function describe(rgba, ny, nx, at, extra) {   // at(j, i): byte offset of cell j (from the bottom), i
    const sums = [0, 0, 0], lum = cells ? new Array(nx * ny) : null;
    for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const o = at(j, i);
      sums[0] += rgba[o]; sums[1] += rgba[o + 1]; sums[2] += rgba[o + 2];
      if (lum) lum[j * nx + i] = (rgba[o] + rgba[o + 1] + rgba[o + 2]) / 3;
    }
    const n = nx * ny;
    return Object.assign({shape: [ny, nx], means: sums.map(s => s / n), n: n, lum: lum}, extra);
  }
  function walk(v) {
    if (!v || seen.has(v) || found) return;
    seen.add(v);
    const m = v.model;
    if (m && m.below && m.below.length && m.below[0].axis_label === xlabel && v.renderer_views) {
      const title = m.title ? m.title.text : "";
      for (const rv of v.renderer_views.values()) {
        const g = rv.model.glyph, d = rv.model.data_source.data;
        const kind = g ? (g.type || g.constructor.name) : "";
        if (kind === "ImageRGBA") {
          const img = d.image[0];
          const [ny, nx] = img.shape || [0, 0];
          const bytes = new Uint8Array(img.buffer, img.byteOffset, img.byteLength);
          found = describe(bytes, ny, nx, (j, i) => 4 * (j * nx + i),
                           {glyph: kind, title: title, x: d.x[0], y: d.y[0], dw: d.dw[0], dh: d.dh[0]});
          return;
        }
        if (kind === "ImageURL") {
          const img = rv.glyph && rv.glyph.image ? rv.glyph.image[0] : null;
          if (!img || !img.complete || !img.naturalWidth || img.src !== d.url[0]) return;  // still loading
          const canvas = document.createElement("canvas");
          canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
          const ctx = canvas.getContext("2d");
          ctx.drawImage(img, 0, 0);
          const bytes = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
          const nx = d.nx ? d.nx[0] : canvas.width, ny = d.ny ? d.ny[0] : canvas.height;
          const k = Math.round(canvas.height / ny);
          found = describe(bytes, ny, nx, (j, i) => 4 * ((canvas.height - 1 - j * k) * canvas.width + i * k),
                           {glyph: kind, title: title, x: d.x[0], y: d.y[0] - d.h[0], dw: d.w[0], dh: d.h[0]});
          return;
        }
      }
    }
    for (const c of (v.child_views || [])) walk(c);
  }
  for (const v of Object.values(Bokeh.index)) walk(v);
  return found;
}
"""

# whether the card of a panel (CSS hook ``explorer-card-<name>``) is collapsed (null: no such card)
JS_CARD_COLLAPSED = """
(css) => {
  for (const m of Bokeh.documents[0].all_models) {
    if ((m.css_classes || []).includes(css) && m.collapsed !== undefined) return m.collapsed;
  }
  return null;
}
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stack_top(error, frames: int = 4) -> str:
    """The first ``frames`` lines of a page error's stack after its message, on one line."""
    stack = getattr(error, "stack", "") or ""
    lines = [line.strip() for line in stack.splitlines() if line.strip().startswith("at ")]
    return " | ".join(lines[:frames]) or "(no stack)"


class Page:
    """A page with its console errors collected, and helpers for the explorer's widgets."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page(viewport={"width": 1600, "height": 1500})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        # (with the script's stack: the message alone does not say which library failed)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e} {_stack_top(e)}"))
        self.page.goto(url, timeout=120_000)  # a busy two-core machine builds a session slowly
        self.page.wait_for_selector(".image-title", timeout=60_000)
        self.wait_for(lambda: self.plot("RA (deg)") is not None and self.plot("x (parent pixels)") is not None,
                      "the sky map and the image to draw")

    def wait_for(self, predicate, what: str, timeout: float = 30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            self.page.wait_for_timeout(200)
        self.shot("timeout")
        raise AssertionError(f"timed out waiting for {what}")

    def redrawn(self, css: str, before: bytes, what: str, settle_ms: int = 500) -> bytes:
        """A screenshot of the first ``css`` element once it differs from ``before``, taken after it
        settles for ``settle_ms``: the title of a frame can reach the page before its pixels, so a
        test polls for the pixels rather than sleeping a fixed time after the title."""
        element = self.page.locator(css).first
        self.wait_for(lambda: element.screenshot() != before, what)
        self.page.wait_for_timeout(settle_ms)
        return element.screenshot()

    def open_card(self, name: str) -> None:
        """Open the card of panel ``name`` as a person does: a tool (closed at first, without a
        card) with a click on its button in the tools' shelf (CSS hook ``explorer-tools``); nothing
        when it is open already. The page is scrolled back to where it was (the click scrolls the
        button into view), so plots keep the positions tests expect."""
        css = f"explorer-card-{name}"
        if self.page.evaluate(JS_CARD_COLLAPSED, css) is not False:  # no card yet, or collapsed
            where = self.page.evaluate("() => [window.scrollX, window.scrollY]")
            self.tool_button(name).click()
            self.page.evaluate("([x, y]) => window.scrollTo(x, y)", where)
        self.wait_for(lambda: self.page.evaluate(JS_CARD_COLLAPSED, css) is False, f"the {name} card to open")

    def tool_button(self, name: str):
        """The button of tool ``name`` in the tools' shelf."""
        from explorer.app.page import SPECS

        label = SPECS[name].label or SPECS[name].cls.title
        return self.page.locator(".explorer-tools").get_by_role("button", name=label, exact=True)

    def plot(self, xlabel: str):
        """Geometry of the plot with x label ``xlabel`` (:data:`JS_PLOT_GEOMETRY`), in the window's
        coordinates. A plot partly outside the window is scrolled into it first, so the pointer
        positions tests derive from it land on the plot whatever the height of the panels above
        (a table that grows with its rows, a card opened)."""
        g = self.page.evaluate(JS_PLOT_GEOMETRY, xlabel)
        if not g:
            return g
        height = self.page.evaluate("() => window.innerHeight")
        if g["top"] < 0 or g["top"] + g["height"] > height:  # (the page's main area scrolls, not the window)
            self.page.evaluate(JS_PLOT_INTO_VIEW, xlabel)
            g = self.page.evaluate(JS_PLOT_GEOMETRY, xlabel)
        return g

    def plot_image(self, xlabel: str, cells: bool = False):
        """The frame the plot with x label ``xlabel`` shows (:data:`JS_PLOT_IMAGE`), None while
        none is drawn; ``cells``: with every cell's brightness, ``lum`` (rows bottom to top)."""
        return self.page.evaluate(JS_PLOT_IMAGE, [xlabel, cells])

    def to_page(self, xlabel: str, x: float, y: float) -> tuple[float, float]:
        g = self.plot(xlabel)
        px = g["left"] + (x - g["x0"]) / (g["x1"] - g["x0"]) * g["width"]
        py = g["top"] + (g["y1"] - y) / (g["y1"] - g["y0"]) * g["height"]
        return px, py

    def text(self, selector: str) -> str:
        """Visible text of the first match, including its shadow DOM (Panel panes render there)."""
        loc = self.page.locator(selector)
        if not loc.count():
            return ""
        return loc.first.evaluate(
            "e => e.shadowRoot ? Array.from(e.shadowRoot.children).filter(c => !['STYLE', 'LINK']"
            ".includes(c.tagName)).map(c => c.innerText || '').join('\\n') : e.innerText")

    def options(self, widget: str) -> list[str]:
        return self.page.eval_on_selector(f".{widget} select", "s => Array.from(s.options).map(o => o.textContent)")

    def value(self, widget: str) -> str:
        return self.page.eval_on_selector(f".{widget} select", "s => s.options[s.selectedIndex].textContent")

    def shot(self, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


# ----- the Bokeh document, read by the tests' JavaScript -------------------------------------------
# A browser test finds a plot by its x-axis label and reads what it draws. The walk is written once
# here; the ``JS_*`` page functions below are built on it with :func:`js_on_plot`.

# JS: the views of the Bokeh plots whose x-axis has a given label, in the order of ``Bokeh.index``
JS_PLOT_VIEWS_FN = """
function plotViews(xlabel) {
  const seen = new Set(), out = [];
  function walk(v) {
    if (!v || seen.has(v)) return;
    seen.add(v);
    const m = v.model;
    if (m && m.below && m.below.length && m.below[0].axis_label === xlabel && v.renderer_views) {
      out.push(v);
      return;
    }
    for (const c of (v.child_views || [])) walk(c);
  }
  for (const v of Object.values(Bokeh.index)) walk(v);
  return out;
}
"""


@contextmanager
def slow_cpu(p: Page, rate: float = 4) -> Iterator[None]:
    """Run the page's scripts ``rate`` times slower meanwhile (Chrome's CPU throttling), as on a
    busy machine: the browser then builds what the server sends more slowly than it arrives."""
    cdp = p.page.context.new_cdp_session(p.page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
    try:
        yield
    finally:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
        cdp.detach()


def js_on_plot(body: str, params: str = "xlabel") -> str:
    """A page function ``(params) => ...`` that runs ``body`` (JavaScript seeing ``v``, a plot's view,
    ``m``, its model) on each plot whose x-axis is labelled ``xlabel`` (a name in
    ``params``) until ``body`` returns something (not null or undefined); null when none does."""
    return f"""({params}) => {{
{JS_PLOT_VIEWS_FN}
  for (const v of plotViews(xlabel)) {{
    const m = v.model;
    const found = (() => {{ {body} }})();
    if (found !== null && found !== undefined) return found;
  }}
  return null;
}}"""


# data -> page coordinates for the Bokeh plot whose x-axis has a given label (what Page.plot reads)
JS_PLOT_GEOMETRY = js_on_plot("""
    if (!(m.x_range && m.y_range && v.frame)) return null;
    const r = v.canvas_view.el.getBoundingClientRect();
    return {x0: m.x_range.start, x1: m.x_range.end, y0: m.y_range.start, y1: m.y_range.end,
            left: r.left + v.frame.bbox.left, top: r.top + v.frame.bbox.top,
            width: v.frame.bbox.width, height: v.frame.bbox.height};
""")

# scroll whatever holds the plot with a given x label so that the plot is in the window's middle
JS_PLOT_INTO_VIEW = js_on_plot("""
    v.canvas_view.el.scrollIntoView({block: "center", inline: "nearest"});
    return true;
""")

# the title of the plot with a given x label ("" when it has none)
JS_PLOT_TITLE = js_on_plot('return (m.title && m.title.text) || "";')

# ([xlabel, color]): the vertices of the lines of a given colour on the plot with a given x label
JS_PLOT_LINES = js_on_plot("""
    const out = [];
    for (const rv of v.renderer_views.values()) {
      const g = rv.model.glyph;
      if (!g || !("line_color" in g)) continue;
      const lc = g.line_color;
      const c = (lc && typeof lc === "object" && "value" in lc) ? lc.value : lc;
      if (String(c).toLowerCase() !== color) continue;
      const d = rv.model.data_source.data;
      const xs = d.xs || [], ys = d.ys || [];
      for (let k = 0; k < xs.length; k++) out.push([Array.from(xs[k]), Array.from(ys[k])]);
    }
    return out;
""", params="[xlabel, color]")

# the y scale, the y range and the number of bars (positive tops) of the plot with a given x label
JS_PLOT_BARS = js_on_plot("""
    if (!m.y_scale) return null;
    let bars = 0;
    for (const r of m.renderers) {
      const d = r.data_source && r.data_source.data;
      if (d && d.top) bars += Array.from(d.top).filter(t => Number.isFinite(t) && t > 0).length;
    }
    return {scale: m.y_scale.type, bars: bars, y0: m.y_range.start, y1: m.y_range.end};
""")

# ([xlabel, toolType]): make the plot's toolbar tool of that type active; false when there is none
JS_ACTIVATE_TOOL = js_on_plot("""
    if (!m.toolbar) return null;
    const tool = m.toolbar.tools.find(t => (t.type || t.constructor.__name__) === toolType
                                           || t.constructor.__name__ === toolType);
    if (!tool) return false;
    tool.active = true;
    return true;
""", params="[xlabel, toolType]")

# the y-axis labels of the plots of the first root view that has any
JS_Y_LABELS = """
() => {
  for (const v of Object.values(Bokeh.index)) {
    const out = [];
    (function walk(w) {
      if (w.model && w.model.left && w.model.left.length) out.push(w.model.left[0].axis_label);
      for (const c of (w.child_views || [])) walk(c);
    })(v);
    if (out.length) return out;
  }
  return [];
}
"""


# ----- Chromium and pages ------------------------------------------------------------------------
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def require_browser() -> None:
    """Skip the test when Debian's Chromium or playwright is missing; fail instead in CI
    (``REPO_EXPLORER_REQUIRE_BROWSER=1``), where a missing browser is a broken setup."""
    import os

    import pytest

    required = os.environ.get("REPO_EXPLORER_REQUIRE_BROWSER") == "1"
    if not os.path.exists(CHROMIUM):
        if required:
            pytest.fail(f"{CHROMIUM} is missing and REPO_EXPLORER_REQUIRE_BROWSER=1 (scripts/setup.sh installs it)")
        pytest.skip("Debian chromium is not installed (scripts/setup.sh installs it)")
    if required:
        import playwright.sync_api  # noqa: F401 - fails loudly in CI
    pytest.importorskip("playwright.sync_api")


@contextmanager
def chromium() -> Iterator:
    """Debian's Chromium, headless (the flags of DEVELOPERS.md), driven by playwright's sync API;
    closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def page_opener(browser, base_url: str, page_class: type[Page] = Page) -> Iterator[Callable[..., Page]]:
    """``opener(query='') -> page_class`` on ``base_url + query``; every page opened is closed on exit."""
    pages: list[Page] = []

    def opener(query: str = "") -> Page:
        p = page_class(browser, base_url + query)
        pages.append(p)
        return p

    try:
        yield opener
    finally:
        for p in pages:
            p.page.close()


def int_attr(p: Page, cls: str, name: str) -> int | None:
    """The integer a page element (CSS class ``cls``, e.g. a caption's ``data-rows``) carries in
    attribute ``name``; None while there is no such element or attribute."""
    loc = p.page.locator(f".{cls}")
    if not loc.count():
        return None
    value = loc.first.get_attribute(name)
    return None if value is None else int(value)


def coadd_data_id(repo: Path, tract: int, patch_name: str, band: str) -> dict:
    """The data ID of the sample's coadd in ``tract``, patch ``patch_name`` ("3,3", as the page
    names it) and ``band`` (the patch's index from the sample's manifest)."""
    import json

    manifest = json.loads((repo / "sample_manifest.json").read_text())
    patch = next(c["patch"] for c in manifest["coadds"] if c["tract"] == tract and c["patch_name"] == patch_name)
    return {"tract": tract, "patch": patch, "band": band, "skymap": "DC2"}
