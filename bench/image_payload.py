"""What one image render sends to the browser, raw RGBA (before issue 12) against the encoded
frame (PNG or lossless WebP, :mod:`explorer.render.encode`), and the encoder's CPU time.

    python bench/image_payload.py [--sample REPO] [--json]

Frames: a synthetic 4000 x 4000 sky (Gaussian noise, 300 stars, a sprinkling of saturated mask
pixels: no large sample needed) rendered as the page does, whole at 800 x 800 and a 400 x 400
pixel zoom at 400 x 400, in three looks (``gray``; ``viridis``; ``gray`` with the mask overlay).
Each payload is the ``PULL-DOC-REPLY`` Bokeh protocol message of a document holding the plot
(``bench/fig_image.py``'s ``image_payload``); "raw" is the same for a plain ``hv.RGB`` (an
``ImageRGBA`` glyph, what travelled before). With ``--sample``: the document patch a band change
writes on the small sample's coadd (the page's image panel, in process), its frame, its encoding.
CPU times are ``time.process_time`` (medians of 5): quote them, not wall times, on a loaded machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402,F401  (puts the checkout on sys.path too)
from fig_image import image_payload  # noqa: E402


def synthetic_sky(n: int = 4000, seed: int = 1):
    rng = np.random.default_rng(seed)
    img = rng.normal(100.0, 10.0, (n, n)).astype(np.float32)
    for x, y, f in zip(rng.uniform(0, n, 300), rng.uniform(0, n, 300), rng.lognormal(6, 1.5, 300)):
        x0, y0 = int(x), int(y)
        sl = np.s_[max(0, y0 - 10):y0 + 10, max(0, x0 - 10):x0 + 10]
        yy, xx = np.mgrid[sl]
        img[sl] += f * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 8.0)
    mask = np.zeros((n, n), np.int32)
    mask[rng.integers(0, n, 2000), rng.integers(0, n, 2000)] = 1 << 1
    return img, mask


def raw_payload(frame) -> int:
    """The same message for the frame as a plain ``hv.RGB`` (raw RGBA in an ``ImageRGBA`` glyph)."""
    import holoviews as hv
    from bokeh.document import Document
    from bokeh.protocol import Protocol

    fig = hv.render(hv.RGB(np.ascontiguousarray(frame.rgba[::-1]), bounds=frame.bounds), backend="bokeh")
    doc = Document()
    doc.add_root(fig)
    msg = Protocol().create("PULL-DOC-REPLY", "bench", doc)
    return int(len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json)
               + sum(len(memoryview(b.data).cast("B")) for b in msg.buffers))


def synthetic_cases() -> list[dict[str, Any]]:
    import holoviews as hv

    from explorer.render.raster import render_plane
    from explorer.render.stretch import compute_limits

    hv.extension("bokeh")
    img, mask = synthetic_sky()
    limits = compute_limits(img)
    out = []
    for what, screen, rng in (("whole frame", 800, None), ("400 px zoom", 400, (1000.0, 1400.0))):
        for look, cmap, shown in (("gray", "gray", []), ("viridis", "viridis", []), ("gray + mask", "gray", ["SAT"])):
            frame = render_plane({"image": img, "mask": mask}, (0, 0), "image", limits, "zscale", {"SAT": 1},
                                 shown, 0.5, x_range=rng, y_range=rng, width=screen, height=screen, cmap=cmap)
            d = image_payload(frame)
            out.append({"view": what, "look": look, "frame": d["frame_shape"], "raw_bytes": raw_payload(frame),
                        "bytes": d["bytes"], "encoding": d["encoding"], "encoded_bytes": d["encoded_bytes"],
                        "encode_cpu_ms": d["encode_cpu_ms"]})
    return out


def band_change_patch(repo: str) -> dict[str, Any]:
    """The Bokeh document patch (bytes) of a band change on the sample's coadd, image panel only."""
    import holoviews as hv
    from bokeh.document import Document
    from bokeh.protocol import Protocol

    from explorer.app import Explorer, forget_repositories

    hv.extension("bokeh")
    explorer = Explorer(repo)
    st = explorer.state
    st.apply_query({"kind": "coadd", "tract": "3828", "patch": "3,3"})
    doc = Document()
    doc.add_root(explorer.image.view().get_root(doc))
    out = {}
    for label, masks in (("default mask overlay", None), ("no mask overlay", [])):
        if masks is not None:
            st.mask_planes = masks
        events = []
        record = events.append
        doc.on_change(record)
        start = time.process_time()
        st.band = next(b for b in st.param.band.objects if b and b != st.band)
        cpu = time.process_time() - start
        doc.remove_on_change(record)
        msg = Protocol().create("PATCH-DOC", events)
        size = (len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json)
                + sum(len(memoryview(b.data).cast("B")) for b in msg.buffers))
        frame = explorer.image._plot["last"][1]
        url = next(m.data["url"][0] for m in doc.models if hasattr(m, "data") and "url" in m.data)
        out[label] = {"patch_bytes": int(size), "frame": list(frame.shape), "raw_rgba_bytes": int(frame.nbytes),
                      "encoding": url[5:url.index(";")], "band_change_cpu_ms": round(1000 * cpu, 1)}
    forget_repositories()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", help="the small sample repository (for the band-change patch)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    res: dict[str, Any] = {"loadavg_start": benchlib.loadavg(), "synthetic": synthetic_cases()}
    if args.sample:
        res["band_change"] = band_change_patch(args.sample)
    res["loadavg_end"] = benchlib.loadavg()
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print("| view | look | frame | raw RGBA message | encoded message | encoding | encode CPU ms |")
    print("|---|---|---|---:|---:|---|---:|")
    for c in res["synthetic"]:
        print(f"| {c['view']} | {c['look']} | {c['frame'][1]} x {c['frame'][0]} | {c['raw_bytes']:,} B | "
              f"{c['bytes']:,} B | {c['encoding']} ({c['encoded_bytes']:,} B) | {c['encode_cpu_ms']} |")
    for label, b in res.get("band_change", {}).items():
        print(f"band change, {label}: patch {b['patch_bytes']:,} B ({b['encoding']}; frame {b['frame']}, "
              f"raw RGBA {b['raw_rgba_bytes']:,} B), {b['band_change_cpu_ms']} ms CPU")
    print(f"load average: start {res['loadavg_start']}, end {res['loadavg_end']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
