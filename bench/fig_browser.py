"""What a person feels: real Chromium, from a widget click until the canvas shows the new frame.

``browser_click_to_pixels_ms``: a ``repo-explorer serve`` on the repository, Debian's Chromium
driven by playwright, and for each action (band, visit, detector, plane, stretch, zoom, histogram
column) the time from the click until the pixels of the image (or histogram) canvas change. The
page watches its own canvas: before the click a small script takes a checksum of the canvas (drawn
into a 48x48 scratch canvas) and then checks it at every animation frame; the figure is the time
between the click (the first pointer press, wheel turn or input event the page receives: what
playwright does before, finding and checking the element, is not a person's time) and the first
frame whose checksum differs, measured in the page's clock.

    python bench/fig_browser.py REPO [--rounds N] [--json]

Each action alternates between two values, so every click asks for a frame the page has not just
shown. No figure is asserted here: bench/run.py compares them with the goals.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import summary  # noqa: E402
from fig_server import Server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

# Finds the largest canvas under an element (through shadow roots) and watches it for a change.
JS_WATCH = """
(selector) => {
  function canvases(root, out) {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'CANVAS') out.push(el);
      if (el.shadowRoot) canvases(el.shadowRoot, out);
    }
    return out;
  }
  function find() {
    const hosts = [];
    (function walk(root) {
      for (const el of root.querySelectorAll('*')) {
        if (el.classList && el.classList.contains(selector)) hosts.push(el);
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    })(document);
    let best = null;
    for (const h of hosts) for (const c of canvases(h.shadowRoot || h, [])) {
      if (!best || c.width * c.height > best.width * best.height) best = c;
    }
    return best;
  }
  const scratch = document.createElement('canvas');
  scratch.width = scratch.height = 48;
  const ctx = scratch.getContext('2d', {willReadFrequently: true});
  function checksum(c) {
    ctx.clearRect(0, 0, 48, 48);
    ctx.drawImage(c, 0, 0, 48, 48);
    const d = ctx.getImageData(0, 0, 48, 48).data;
    let s = 0;
    for (let i = 0; i < d.length; i += 1) s = (s * 31 + d[i]) >>> 0;
    return s;
  }
  const canvas = find();
  if (!canvas) return false;
  const before = checksum(canvas);
  const armed = performance.now();
  // the person's action: the first pointer press, wheel turn or input after arming (these events
  // cross shadow roots); playwright's own preparation of a click is not counted
  let t0 = null;
  const events = ['pointerdown', 'wheel', 'input'];
  function acted(e) { if (t0 === null) t0 = e.timeStamp || performance.now(); }
  for (const name of events) window.addEventListener(name, acted, {capture: true, passive: true});
  window.__changed = new Promise((resolve) => {
    function done(value) {
      for (const name of events) window.removeEventListener(name, acted, {capture: true});
      resolve(value);
    }
    function tick() {
      const c = find();
      if (t0 !== null && c && checksum(c) !== before) return done(performance.now() - t0);
      if (performance.now() - armed > 30000) return done(null);
      requestAnimationFrame(tick);
    }
    requestAnimationFrame(tick);
  });
  return true;
}
"""


def _button(page, css: str, label: str):
    """The buttons under ``.css`` whose whole text is the label ("calexp", not "deepCoadd_calexp")."""
    return page.locator(f".{css} button", has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))


def _click_button(page, css: str, labels: list[str], i: int) -> None:
    _button(page, css, labels[i % len(labels)]).first.click()


def _select(page, css: str, values: list[str], i: int) -> None:
    page.locator(f".{css} select").first.select_option(label=values[i % len(values)])


def _options(page, css: str) -> list[str]:
    return page.eval_on_selector(f".{css} select", "s => Array.from(s.options).map(o => o.textContent)")


def measure_actions(page, rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Click-to-pixels samples (ms) per action on an open page; None where an action is unavailable."""
    out: dict[str, Any] = {}

    def timed(name: str, canvas_css: str, act: Callable[[int], None]) -> None:
        samples = []
        for i in range(rounds):
            page.wait_for_timeout(600)  # let the previous frame settle
            if not page.evaluate(JS_WATCH, canvas_css):
                log(f"{name}: no canvas under .{canvas_css}")
                break
            act(i)
            ms = page.evaluate("() => window.__changed")
            if ms is not None:
                samples.append(ms / 1000.0)
        out[name] = summary(samples) if samples else None
        log(f"{name}: {out[name]}")

    bands = [b.strip() for b in page.locator(".w-band button").all_inner_texts()]
    if len(bands) >= 2:
        timed("band", "image-plot", lambda i: _click_button(page, "w-band", bands[:2][::-1], i))
    timed("plane", "image-plot", lambda i: _click_button(page, "w-plane", ["variance", "image"], i))
    timed("stretch", "image-plot", lambda i: _click_button(page, "w-stretch", ["linear", "zscale"], i))

    def zoom(i: int) -> None:
        box = page.locator(".image-plot").first.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -240 if i % 2 == 0 else 240)

    timed("zoom", "image-plot", zoom)
    columns = _options(page, "w-column") if page.locator(".w-column select").count() else []
    if len(columns) >= 2:
        timed("histogram_column", "histogram", lambda i: _select(page, "w-column", columns[:2][::-1], i))
    # the calexp actions
    for kind in ("calexp", "visit_image", "visit"):  # (the name the repository's single-visit images have)
        if _button(page, "w-kind", kind).count():
            _click_button(page, "w-kind", [kind], 0)
            break
    page.wait_for_timeout(3000)
    visits = _options(page, "w-visit") if page.locator(".w-visit select").count() else []
    if len(visits) >= 2:
        timed("visit", "image-plot", lambda i: _select(page, "w-visit", visits[:2][::-1], i))
    detectors = _options(page, "w-detector") if page.locator(".w-detector select").count() else []
    if len(detectors) >= 2:
        timed("detector", "image-plot", lambda i: _select(page, "w-detector", detectors[:2][::-1], i))
    return out


def browser_figures(repo: Path, rounds: int = 8, log: Callable[[str], None] = print) -> dict[str, Any]:
    """``browser_click_to_pixels_ms``: per action and over all actions (p50, p95 of every sample)."""
    from playwright.sync_api import sync_playwright

    with Server(repo) as server:
        server.wait_page()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1600, "height": 1400})
                t = time.monotonic()
                page.goto(server.url)
                page.wait_for_selector(".image-title", timeout=120_000)
                page.wait_for_timeout(3000)
                log(f"page open in {time.monotonic() - t:.1f} s")
                per_action = measure_actions(page, rounds, log)
            finally:
                browser.close()
    done = [s["samples"] for s in per_action.values() if s]
    return {"browser_click_to_pixels_ms": _percentiles([v for s in done for v in s]),
            "browser_click_to_pixels_warm_ms": _percentiles([v for s in done for v in s[1:]]),
            "browser_click_to_pixels_first_ms": _percentiles([s[0] for s in done]),
            "browser_click_to_pixels_by_action": per_action}


def _percentiles(samples: list[float]) -> dict[str, Any] | None:
    """p50, p95 and n of ``samples`` (None without any).

    An action's first click asks for a frame no click has asked for yet (its file's planes are
    read from disk); later clicks alternate between frames the page has shown, whose data the
    server's cache holds: ``warm`` is those, ``first`` the first ones, the plain figure all."""
    if not samples:
        return None
    ordered = sorted(samples)
    return {"p50_ms": round(ordered[len(ordered) // 2], 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
            "n": len(ordered)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    res = browser_figures(args.repo, args.rounds, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(json.dumps(res, indent=1) if args.json else res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
