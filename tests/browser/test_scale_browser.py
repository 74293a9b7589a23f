"""The visit and detector selectors in a real Chromium (issue 13): a type-ahead box narrows a
bounded list whose labels carry counts, and picking a match shows that calexp.

The server, browser and page opener are the fixtures of ``conftest.py`` (the small Gen3 sample).
Screenshots go to ``<repo>/test-artifacts/browser/scale-*.png``.
"""
from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.browser

LABEL = re.compile(r"(\d+) · (\w+) · (\d+) detectors?")


def test_type_ahead_finds_a_visit_and_picking_it_shows_it(open_page, sample_gen3):
    manifest = json.loads((sample_gen3 / "sample_manifest.json").read_text())
    missing_band = next(c["band"] for c in manifest["calexps"] if c["visit"] == manifest["missing"]["data_id"]["visit"])
    visits_of = {}
    for c in manifest["calexps"]:
        visits_of.setdefault(c["band"], set()).add(c["visit"])
    first = next(c for c in manifest["calexps"] if c["band"] != missing_band and len(visits_of[c["band"]]) > 1)
    p = open_page(f"?kind=calexp&band={first['band']}&visit={first['visit']}&detector={first['detector']}")
    p.wait_for(lambda: f"calexp visit {first['visit']}" in p.text(".image-title"), "the first calexp", timeout=120)
    options = p.wait_for(lambda: p.options("w-visit"), "the visit options")
    # every option says its band and how many of its detectors overlap the patch
    parsed = [LABEL.fullmatch(o) for o in options]
    assert all(parsed), options
    assert all(m.group(2) == first["band"] for m in parsed)  # (the band chosen: visits in that band)
    others = [m for m in parsed if int(m.group(1)) != first["visit"]]
    assert others, "the sample has more than one visit in the band"
    target = int(others[-1].group(1))
    typed = str(target)[-3:]
    box = p.page.locator(".w-visit-search input")
    box.fill("")
    box.type(typed, delay=60)  # a person typing: the list follows each key

    def narrowed_list():
        options = p.options("w-visit")
        listed = [o.split(" · ")[0] for o in options]
        narrowed = all(typed in v or v == str(first["visit"]) for v in listed)
        return options if str(target) in listed and narrowed else None

    matching = sum(typed in m.group(1) for m in parsed)
    said = f"{matching} visit{'s' if matching != 1 else ''} match “{typed}”"
    p.wait_for(lambda: said in p.text(".w-visit-count"), "the count of the visits matching", timeout=120)
    narrowed = p.wait_for(narrowed_list, "the list to narrow to the typed visit")
    p.shot("scale-01-type-ahead")
    label = next(o for o in narrowed if o.startswith(str(target)))
    p.page.select_option(".w-visit select", label=label)
    p.wait_for(lambda: f"calexp visit {target} " in p.text(".image-title"), "the picked visit's calexp", timeout=120)
    assert p.value("w-visit") == label
    # the detector list is the picked visit's, labelled by whether each is on the patch
    dets = p.wait_for(lambda: [o for o in p.options("w-detector")
                               if int(o.split()[0]) in {c["detector"] for c in manifest["calexps"]
                                                        if c["visit"] == target}], "the visit's detectors", timeout=120)
    assert dets and all(o.split()[0].isdigit() for o in dets)
    p.shot("scale-02-picked")
    assert [e for e in p.errors if "Failed to load resource" not in e] == []
