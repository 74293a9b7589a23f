"""The rendered image travels as a PNG (issue 12): the encoder is exact, and what a band change
sends to the browser is a small PNG, not raw RGBA."""
from __future__ import annotations

import io

import numpy as np
import pytest

from explorer.render.encode import bytes_from_data_url, encode_frame, encode_png, upscale_factor


def decode(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def opaque(rgb: np.ndarray) -> np.ndarray:
    return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]).astype(np.uint8)


@pytest.mark.parametrize("kind", ["grey", "palette", "rgb", "rgba"])
def test_encode_png_is_exact_in_every_colour_type(kind):
    from PIL import Image

    rng = np.random.default_rng(3)
    if kind == "grey":
        g = rng.integers(0, 256, (37, 53), dtype=np.uint8)
        rgba, mode = opaque(np.dstack([g, g, g])), "L"
    elif kind == "palette":  # 200 colours (a colormap and a few mask blends)
        colours = rng.integers(0, 256, (200, 3), dtype=np.uint8)
        rgba, mode = opaque(colours[rng.integers(0, 200, (37, 53))]), "P"
    elif kind == "rgb":  # more colours than a palette holds
        rgba, mode = opaque(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)), "RGB"
    else:
        rgba, mode = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8), "RGBA"
    png = encode_png(rgba)
    assert Image.open(io.BytesIO(png)).mode == mode
    np.testing.assert_array_equal(decode(png), rgba)
    big = decode(encode_png(rgba, scale=3))  # each cell enlarged to 3 x 3 pixels
    assert big.shape == (111, 159, 4)
    np.testing.assert_array_equal(big[::3, ::3], rgba)
    np.testing.assert_array_equal(big[2::3, 2::3], rgba)


def test_encode_frame_picks_an_exact_small_form():
    rng = np.random.default_rng(5)
    g = rng.integers(0, 256, (40, 30), dtype=np.uint8)
    grey = opaque(np.dstack([g, g, g]))
    assert encode_frame(grey)[0] == "image/png"
    many = opaque(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8))  # over 256 colours: lossless WebP
    mime, data = encode_frame(many, scale=2)
    assert mime == "image/webp"
    np.testing.assert_array_equal(decode(data)[::2, ::2], many)


def test_upscale_factor_only_past_one_and_a_half_screen_pixels_per_cell():
    assert upscale_factor((800, 800), 800, 800) == 1
    assert upscale_factor((600, 600), 800, 800) == 1
    assert upscale_factor((50, 40), 800, 800) == 16
    assert upscale_factor((200, 200), 800, 700) == 3.5  # 4 x would not fit the 700 pixels
    assert upscale_factor((200, 200), 800, 800) == 4
    assert upscale_factor((512, 512), 800, 800) == 800 / 512  # not 1024 x 1024 for an 800-pixel screen


def test_a_fractional_enlargement_fills_the_screen_by_nearest_neighbour():
    """A 512-cell frame on 800 screen pixels is encoded at 800 x 800: each cell one or two
    pixels, every cell shown, in order, exactly."""
    rng = np.random.default_rng(7)
    rgba = opaque(rng.integers(0, 256, (60, 50, 3), dtype=np.uint8))
    scale = upscale_factor((60, 50), 80, 110)  # min(80 / 50, 110 / 60) = 1.6
    assert scale == pytest.approx(1.6)
    for mime, data in [("image/webp", encode_frame(rgba, scale)[1]), ("image/png", encode_png(rgba, scale))]:
        image = decode(data)
        assert image.shape == (96, 80, 4), mime
        rows = (np.arange(96) * 60) // 96
        cols = (np.arange(80) * 50) // 80
        np.testing.assert_array_equal(image, rgba[rows][:, cols])
        assert sorted(set(np.diff(np.flatnonzero(np.diff(cols) != 0)))) == [1, 2]  # cells 1 or 2 pixels wide


def test_a_band_change_sends_a_png_below_600_kb(sample_gen3):
    """The Bokeh document patch a band change writes to the websocket: a PNG of the new frame
    (the sample's 400 x 400 coadd: 640,000 bytes as raw RGBA), well below 600 KB."""
    import holoviews as hv
    from bokeh.document import Document
    from bokeh.models import ImageURL
    from bokeh.protocol import Protocol

    from explorer.app import Explorer, forget_repositories

    hv.extension("bokeh")
    explorer = Explorer(str(sample_gen3))
    st = explorer.state
    st.apply_query({"kind": "coadd", "tract": "3828", "patch": "3,3"})
    doc = Document()
    root = explorer.image.view().get_root(doc)
    doc.add_root(root)
    glyphs = [m for m in doc.models if isinstance(m, ImageURL)]
    assert glyphs, "the image is drawn by an ImageURL glyph"
    sent = []

    def band_change():
        events = []
        record = events.append
        doc.on_change(record)
        before = st.band
        st.band = next(b for b in st.param.band.objects if b and b != before)
        doc.remove_on_change(record)
        assert st.exposure() is not None and events
        msg = Protocol().create("PATCH-DOC", events)
        size = (len(msg.header_json) + len(msg.metadata_json) + len(msg.content_json)
                + sum(len(memoryview(b.data).cast("B")) for b in msg.buffers))
        frame = st.render_image(800, 800)  # what the panel rendered (and did not keep: it keeps the PNG)
        assert frame.rgba.nbytes == 400 * 400 * 4  # what travelled before, as raw RGBA
        assert size < 600_000, size
        sources = [r.data_source for r in doc.models if isinstance(getattr(r, "glyph", None), ImageURL)]
        assert len(sources) == 1
        source = sources[0]
        mime, data = bytes_from_data_url(source.data["url"][0])
        kept = explorer.image._plot["last"][1]  # the panel keeps the encoded image, the one the source holds
        assert kept["url"][0] is source.data["url"][0] and set(kept) == set(source.data)
        assert source.data["url"][0] in msg.content_json  # the image travelled in this patch
        image = decode(data)
        k = image.shape[0] // 400  # (enlarged when the plot has more screen pixels than the frame cells)
        np.testing.assert_array_equal(image[::k, ::k], frame.rgba[::-1])  # the frame, exactly, top row first
        sent.append((mime, size, k))

    band_change()  # the sample's default mask overlay: many colours
    st.mask_planes = []
    band_change()  # a grey frame: a grey PNG
    assert sent[1][0] == "image/png", sent
    print("band change patches (MIME, bytes, enlargement):", sent)
    forget_repositories()
