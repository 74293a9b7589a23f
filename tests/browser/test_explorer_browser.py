"""The explorer page in a real Chromium (Debian's /usr/bin/chromium, driven by playwright).

The server (a subprocess running ``explorer.server.serve`` on the sample repository, confined
to the sample's parent directory with ``repo_roots``), the browser and the page opener are the
fixtures of ``conftest.py``; ``pagekit.Page`` wraps a tab. Screenshots go to ``<repo>/test-artifacts/browser/``.
"""
from __future__ import annotations

import json

import pytest
from pagekit import ARTIFACTS, JS_PLOT_BARS, JS_PLOT_GEOMETRY, REPO_ROOT, Page, coadd_data_id  # noqa: F401

pytestmark = pytest.mark.browser


def test_page_loads_without_console_errors(open_page, server):
    manifest = json.loads((server["repo"] / "sample_manifest.json").read_text())
    p = open_page()
    summary = p.wait_for(lambda: p.text(".explorer-summary"), "the summary")
    assert f"{len(manifest['visits'])}\nvisits" in summary
    assert "calexp" in p.text(".dataset-table")
    p.wait_for(lambda: "Kron" in p.text(".hist-caption") or p.plot(
        "log10(ext_photometryKron_KronFlux_instFlux)") is not None, "the Kron flux histogram")
    p.page.wait_for_timeout(1000)
    p.shot("01-loaded")
    assert p.errors == []


def test_tapping_a_tract_changes_the_patch_list(open_page):
    from explorer.sky import dc2_skymap

    p = open_page()
    assert p.options("w-patch") == ["3,3", "4,3"] and p.value("w-tract") == "3828"
    ra, dec = dc2_skymap().tract(3829).ctr_coord
    x, y = p.to_page("RA (deg)", ra, dec)
    p.page.mouse.click(x, y)
    p.wait_for(lambda: p.value("w-tract") == "3829", "tract 3829 to be selected")
    p.wait_for(lambda: p.options("w-patch") == ["6,3"], "the patch list of tract 3829")
    p.wait_for(lambda: "tract 3829 patch 6,3" in p.text(".image-title"), "the 3829 coadd")
    # tapping a patch with data in the selected tract selects it
    p.page.mouse.click(*p.to_page("RA (deg)", ra, dec))
    p.shot("02-tract-tapped")
    assert p.errors == []


def test_choosing_a_patch_changes_the_image_and_the_histogram(open_page, sample_gen3):
    manifest = json.loads((sample_gen3 / "sample_manifest.json").read_text())
    x0, y0, w, h = next(c["bbox"] for c in manifest["coadds"] if c["tract"] == 3828 and c["patch_name"] == "4,3")
    p = open_page()
    p.wait_for(lambda: "patch=24" in p.text(".hist-caption"), "the 3,3 histogram")
    before = p.page.locator(".image-plot canvas").first.screenshot()
    p.page.select_option(".w-patch select", label="4,3")
    p.wait_for(lambda: "patch 4,3" in p.text(".image-title"), "the 4,3 coadd")
    p.wait_for(lambda: "patch=25" in p.text(".hist-caption"), "the 4,3 histogram")

    def axes_show_the_new_patch():  # the new coadd's pixels, not an empty frame on the old axes
        g = p.plot("x (parent pixels)")
        return g and g["x0"] <= x0 + w / 2 <= g["x1"] and g["y0"] <= y0 + h / 2 <= g["y1"]

    p.wait_for(axes_show_the_new_patch, "the image axes to move to the 4,3 coadd")
    after = p.redrawn(".image-plot canvas", before, "the 4,3 coadd's pixels")
    # another band of the same patch: same pixel grid, the plot is redrawn in place with new pixels
    p.page.locator(".w-band button", has_text="r").first.click()
    p.wait_for(lambda: "patch 4,3 band r" in p.text(".image-title"), "the r-band coadd")
    p.wait_for(axes_show_the_new_patch, "the axes to stay on the patch")
    p.redrawn(".image-plot canvas", after, "the r-band pixels")
    p.shot("03-patch-4-3")
    assert p.errors == []


def test_histogram_axes_follow_the_column(open_page):
    """The histogram is one plot redrawn in place: its axis label and range follow each choice."""
    p = open_page()
    log_label = "log10(ext_photometryKron_KronFlux_instFlux)"
    g = p.wait_for(lambda: p.plot(log_label), "the log Kron flux histogram")
    assert g["x1"] < 10  # log10 of fluxes
    p.page.locator(".w-logx input").first.click()
    lin = p.wait_for(lambda: p.plot("ext_photometryKron_KronFlux_instFlux"), "the linear histogram")
    assert lin["x1"] > 100  # fluxes themselves: the x range moved with the data
    assert p.errors == []


def test_a_link_restores_the_selection(open_page):
    p = open_page("?tract=3829&patch=6,3&band=i&stretch=asinh")
    p.wait_for(lambda: "tract 3829 patch 6,3 band i" in p.text(".image-title"), "the linked coadd")
    assert p.value("w-tract") == "3829" and p.value("w-patch") == "6,3"
    # the page writes the selection back into its URL, so it can be shared as it is now
    p.wait_for(lambda: "stretch=asinh" in p.page.url and "tract=3829" in p.page.url, "the URL to follow")
    p.shot("04-linked")
    assert p.errors == []


def test_calexp_link_and_pixel_readout(open_page, server):
    """Hovering the image shows the pixel's value, mask planes and RA/Dec, as the data layer has them."""
    import re

    from explorer.repo import open_repo

    p = open_page("?kind=calexp")
    title = p.wait_for(lambda: re.search(r"calexp visit (\d+) detector (\d+)", p.text(".image-title")), "a calexp")
    visit, detector = int(title.group(1)), int(title.group(2))
    p.wait_for(lambda: p.plot("x (parent pixels)")["x0"] < 10000, "the calexp's axes")  # not the coadd's
    g = p.plot("x (parent pixels)")

    def hover_readout():
        for dx in (0, 4, 8):
            p.page.mouse.move(g["left"] + g["width"] / 2 + dx, g["top"] + g["height"] / 2 + dx)
        return re.search(r"x (\d+) y (\d+) · value (\S+) .*mask (\S+)\s*RA (\d+\.\d+) Dec (-?\d+\.\d+)",
                         p.text(".explorer-readout"), re.S)

    m = p.wait_for(hover_readout, "the pixel readout")
    p.shot("05-calexp-readout")
    x, y, value, ra, dec = int(m.group(1)), int(m.group(2)), float(m.group(3)), float(m.group(5)), float(m.group(6))
    exposure = open_repo(server["repo"]).get_exposure("calexp", {"visit": visit, "detector": detector})
    x0, y0 = exposure.info.xy0
    assert value == pytest.approx(float(exposure.image[y - y0, x - x0]), rel=1e-5, abs=1e-6)
    want_ra, want_dec = exposure.info.pixel_to_sky(x, y)
    assert (ra, dec) == (pytest.approx(float(want_ra), abs=2e-6), pytest.approx(float(want_dec), abs=2e-6))
    assert m.group(4) == (",".join(exposure.info.decode_mask(int(exposure.mask[y - y0, x - x0]))) or "-")
    assert p.errors == []


def test_a_missing_calexp_says_so_above_a_blank_frame(open_page, sample_gen3):
    """The notebook's lesson (registered is not on disk) in the page: the title says so, the plot
    stays (a blank frame), and the next detector draws in it again."""
    manifest = json.loads((sample_gen3 / "sample_manifest.json").read_text())
    missing = manifest["missing"]["data_id"]
    other = next(c for c in manifest["calexps"] if c["visit"] == missing["visit"]
                 and c["detector"] != missing["detector"])
    p = open_page(f"?kind=calexp&band={other['band']}&visit={other['visit']}&detector={other['detector']}")
    shown = f"calexp visit {other['visit']} detector {other['detector']}"
    p.wait_for(lambda: shown in p.text(".image-title"), "the calexp")
    p.wait_for(lambda: p.plot("x (parent pixels)")["x0"] < 10000, "the calexp's axes")
    # the list marks the registered-but-absent calexp (issue 11 item 5); labels start with the id
    def label(detector, absent):
        return next(o for o in p.options("w-detector")
                    if o.split()[0] == str(detector) and o.endswith("(not on disk)") == absent)

    p.page.select_option(".w-detector select", label=label(missing["detector"], True))
    p.wait_for(lambda: "not on disk" in p.text(".image-title"), "the missing-file message")
    p.page.wait_for_timeout(800)
    p.shot("07-missing-calexp")
    assert p.page.locator(".image-plot canvas").count()  # the plot stays, blank
    blank = p.page.locator(".image-plot canvas").first.screenshot()
    p.page.select_option(".w-detector select", label=label(other["detector"], False))
    p.wait_for(lambda: shown in p.text(".image-title") and "not on disk" not in p.text(".image-title"),
               "the calexp again")
    p.redrawn(".image-plot canvas", blank, "the calexp's pixels after the blank frame")
    # the selection works again: the problem is cleared (issue 11 item 5)
    p.wait_for(lambda: not p.page.locator(".explorer-error").first.is_visible(), "the problem to clear")
    assert p.page.locator(".image-plot canvas").count()
    assert [e for e in p.errors if "Failed to load resource" not in e] == []


def test_bad_repository_path_shows_an_error_and_the_page_stays_usable(open_page):
    p = open_page()
    box = p.page.locator(".w-repo input")
    box.fill("no/such/repository")
    box.press("Enter")
    p.wait_for(lambda: "no such directory" in p.text(".explorer-error"), "the error message")
    box.fill("../../etc")
    box.press("Enter")
    p.wait_for(lambda: "'..'" in p.text(".explorer-error"), "the confinement message")
    p.shot("06-bad-repository")
    # still usable: choose another band and the image follows
    p.page.locator(".w-band button", has_text="r").first.click()
    p.wait_for(lambda: "band r" in p.text(".image-title"), "the r-band coadd")
    assert [e for e in p.errors if "Failed to load resource" not in e] == []


# ----- issue 11: page defects -------------------------------------------------------------------
def test_log_count_axis_draws_bars_on_a_log_axis(open_page):
    """Issue 11 item 1: the log count axis left a linear axis, no bars, and "nonexistent field
    'bottom'" errors in the console."""
    p = open_page()
    label = "log10(ext_photometryKron_KronFlux_instFlux)"

    def bars():
        return p.page.evaluate(JS_PLOT_BARS, label)

    linear = p.wait_for(lambda: (lambda b: b if b and b["bars"] else None)(bars()), "the linear histogram")
    assert linear["scale"] == "LinearScale"
    p.page.locator(".w-logy input").first.click()
    log = p.wait_for(lambda: (lambda b: b if b and b["scale"] == "LogScale" else None)(bars()), "a log count axis")
    p.wait_for(lambda: bars()["bars"] > 0, "bars on the log axis")
    assert log["y0"] > 0  # a log axis starts above zero
    p.page.wait_for_timeout(800)
    p.shot("11-log-count-axis")
    assert not [e for e in p.errors if "bottom" in e], p.errors
    assert p.errors == []
    # and back: a linear axis with the same bars
    p.page.locator(".w-logy input").first.click()
    p.wait_for(lambda: bars()["scale"] == "LinearScale", "the linear axis again")
    assert bars()["bars"] == linear["bars"]


def test_a_refused_path_toasts_once_and_keeps_what_was_typed(open_page, server):
    """Issue 11 item 6: every error toast appeared twice, and a refused path snapped the box back to
    the old repository (the user retyped the whole path)."""
    p = open_page()
    box = p.page.locator(".w-repo input")
    for typed, says in (("no/such/repository", "no such directory"),
                        (str(server["repo"].parent), "not a data repository")):
        box.fill(typed)
        box.press("Enter")
        p.wait_for(lambda says=says: says in p.text(".explorer-error"), f"the message {says!r}")
        p.page.wait_for_timeout(1500)
        toasts = p.page.evaluate(
            "(says) => Array.from(document.querySelectorAll('.notyf__toast'))"
            ".filter(t => t.innerText.includes(says)).length",
            says)
        assert toasts == 1, (typed, toasts)
        assert box.input_value() == typed  # kept as typed, to be corrected
    p.shot("12-refused-path")
    # the open repository still works: another band, and the image follows
    p.page.locator(".w-band button", has_text="r").first.click()
    p.wait_for(lambda: "band r" in p.text(".image-title"), "the r-band coadd")


def test_a_stale_link_is_named_whole_and_dropped_from_the_address_bar(open_page):
    """Issue 11 item 8: a link with several stale values reported only the last, and the address
    bar kept the stale values."""
    p = open_page("?tract=99999&band=q&stretch=asinh")
    p.wait_for(lambda: "99999" in p.text(".explorer-error") and "'q'" in p.text(".explorer-error"),
               "both stale values named")
    p.wait_for(lambda: "stretch=asinh" in p.page.url and "tract=3828" in p.page.url, "the address bar to follow")
    assert "99999" not in p.page.url and "band=q" not in p.page.url
    p.shot("13-stale-link")


def test_a_linked_zoom_is_the_first_view(open_page, sample_gen3):
    """Issue 11 item 8: the zoom of a link was not restored."""
    p = open_page("?tract=3828&patch=3,3&band=g&zoom=13850,13950,13900,14000")
    g = p.wait_for(lambda: (lambda g: g if g and abs(g["x0"] - 13850) < 1 else None)(p.plot("x (parent pixels)")),
                   "the linked zoom")
    assert abs(g["x1"] - 13950) < 1 and abs(g["y0"] - 13900) < 1 and abs(g["y1"] - 14000) < 1
    p.wait_for(lambda: "zoom=13850" in p.page.url, "the zoom in the address bar")
    assert p.errors == []


# each mask plane's checkbox label and the colour of the swatch drawn before it
JS_MASK_TOGGLES = """
    host => Array.from((host.shadowRoot || host).querySelectorAll('label')).map(label => {
        const span = label.querySelector('span');
        const box = label.querySelector('input');
        return {name: span.textContent, checked: box.checked,
                color: getComputedStyle(span, '::before').backgroundColor,
                top: label.getBoundingClientRect().top};
    })
"""


def _mask_toggles(p: Page) -> list[dict]:
    group = p.page.locator(".w-mask-planes")  # (playwright's CSS reaches into Panel's shadow roots)
    return group.first.evaluate(JS_MASK_TOGGLES) if group.count() else []


def test_mask_toggles_name_each_plane_in_its_colour_and_follow_the_exposure(open_page, server):
    """The sidebar's mask planes are one checkbox group: each name after a swatch of the colour the
    image draws it in, two to a line, and the calexp's planes replace the coadd's."""
    import re

    from explorer.render.colors import mask_plane_colors, rgb
    from explorer.repo import open_repo

    p = open_page()
    repo = open_repo(server["repo"])
    try:
        for kind in ("coadd", "calexp"):
            if kind == "calexp":
                p.page.locator(".w-kind button", has_text=re.compile(r"^\s*calexp\s*$")).first.click()
                p.wait_for(lambda: "calexp visit" in p.text(".image-title"), "a calexp")
            ref = p.wait_for(lambda: _shown_ref(p, server), f"the {kind} shown")
            exposure = repo.get_exposure(*ref)
            colours = mask_plane_colors(exposure.info.mask_planes)
            want = [(n, "rgb(%d, %d, %d)" % rgb(c)) for n, c in colours.items()]
            p.wait_for(lambda want=want: [(t["name"], t["color"]) for t in _mask_toggles(p)] == want,
                       f"the {kind}'s planes in their colours")
            toggles = _mask_toggles(p)
            assert len({round(t["top"]) for t in toggles}) == (len(toggles) + 1) // 2  # two to a line
    finally:
        repo.close()
    p.shot("12-mask-toggles")
    # ticking a plane puts it into the link
    first = toggles[0]
    p.page.locator(".w-mask-planes label", has_text=first["name"]).first.click()
    p.wait_for(lambda: (first["name"] in p.page.url) is not first["checked"], "the link to follow the tick")
    assert p.errors == []


def _shown_ref(p: Page, server):
    """(dataset type, data id) of the exposure the image title names, or None."""
    import re

    text = p.text(".image-title")
    m = re.search(r"calexp visit (\d+) detector (\d+)", text)
    if m:
        return "calexp", {"visit": int(m.group(1)), "detector": int(m.group(2)), "instrument": "LSSTCam-imSim"}
    m = re.search(r"tract (\d+) patch (\d+,\d+) band (\w)", text)
    if m:
        return "deepCoadd_calexp", coadd_data_id(server["repo"], int(m.group(1)), m.group(2), m.group(3))
    return None
