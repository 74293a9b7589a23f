"""A rendered frame as a small lossless image, quickly: what travels to the browser instead of raw RGBA.

A screen-resolution frame of sky noise is about 5 bits of information per pixel, but raw RGBA
spends 32: an 800 x 800 frame is 2.56 MB on the websocket. :func:`encode_frame` writes the frame
exactly, in the smallest form it fits: a grey PNG (1 byte per pixel) when every pixel is grey (the
``gray`` colormap, no mask overlay), an 8-bit palette PNG when the frame has at most 256 colours
(a colormap has 256, the no-data colour and blended mask planes add a few), else lossless WebP
(mask planes blended over a colormap: many colours, where WebP's colour transforms halve a PNG).
The palette is sorted by luminance so that neighbouring pixels of similar brightness get
neighbouring indices, which the row filter then turns into small numbers.

Speed: generic PNG writers try several filters per row and search for repeated strings (Pillow:
25-40 ms for 800 x 800). Here every row is filtered with ``Sub`` (the difference with the pixel to
its left), or ``Up`` when the row repeats the one above (a frame enlarged by ``scale``), and zlib
runs with its run-length strategy at level 1: a few milliseconds for 800 x 800, and smaller than
Pillow's output on noise. WebP runs at its fastest lossless setting (method 0). Figures in
BENCHMARKS.md (issue 12).

``scale`` > 1 enlarges each cell to about ``scale`` x ``scale`` pixels before encoding (nearest
neighbour: exactly ``scale`` x ``scale`` when it is a whole number). A view zoomed in past one
image pixel per screen pixel has fewer cells than the screen; the browser would stretch it with
smoothing (a blur), so the frame is enlarged on the server, where repeated rows and pixels cost
little after the filter. :func:`upscale_factor` never makes the image larger than the screen: a
whole factor when one fits, else the screen's own ratio (cells one or two pixels wide, as Bokeh's
raw-RGBA glyph drew them), so a 512-cell frame on 800 pixels is encoded as 800 x 800, not
1024 x 1024 (2.5 times fewer pixels to encode than the 1024 x 1024 image the screen shrinks again).
"""
from __future__ import annotations

import base64
import io
import math
import struct
import zlib
from typing import Optional

import numba
import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GREY, RGB, PALETTE, RGBA = 0, 2, 3, 6  # PNG colour types
MAX_COLOURS = 256


@numba.njit(cache=True, nogil=True)
def _palette_index(rgb, out):  # pragma: no cover - compiled
    """Index every pixel of an (h, w, 3) uint8 array into a palette of at most 256 colours
    (open addressing on the packed colour); returns the palette, or an empty one when the frame
    has more colours than that."""
    size = 4096
    keys = np.full(size, -1, dtype=np.int64)
    slots = np.zeros(size, dtype=np.int64)
    palette = np.zeros((MAX_COLOURS, 3), dtype=np.uint8)
    n = 0
    h, w, _c = rgb.shape
    for j in range(h):
        for i in range(w):
            key = (np.int64(rgb[j, i, 0]) << 16) | (np.int64(rgb[j, i, 1]) << 8) | np.int64(rgb[j, i, 2])
            k = (key * 2654435761) & (size - 1)
            while keys[k] != -1 and keys[k] != key:
                k = (k + 1) & (size - 1)
            if keys[k] == -1:
                if n == MAX_COLOURS:
                    return palette[:0]
                keys[k] = key
                slots[k] = n
                palette[n, 0] = rgb[j, i, 0]
                palette[n, 1] = rgb[j, i, 1]
                palette[n, 2] = rgb[j, i, 2]
                n += 1
            out[j, i] = slots[k]
    return palette[:n]


def palette_image(rgb: np.ndarray) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """(index (h, w) uint8, palette (n, 3) uint8) of an (h, w, 3) uint8 image with at most 256
    colours, the palette sorted by luminance; None when it has more."""
    index = np.empty(rgb.shape[:2], dtype=np.uint8)
    palette = _palette_index(np.ascontiguousarray(rgb), index)
    if not len(palette):
        return None
    luminance = palette.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    order = np.argsort(luminance, kind="stable")
    rank = np.empty(len(order), dtype=np.uint8)
    rank[order] = np.arange(len(order), dtype=np.uint8)
    return rank[index], palette[order]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _filtered_rows(pixels: np.ndarray) -> bytes:
    """The PNG scanlines of an (h, w) or (h, w, c) uint8 array: each row ``Sub``-filtered (filter
    type 1), or ``Up``-filtered (type 2: all zeros) when it repeats the row above."""
    h, w = pixels.shape[:2]
    rows = np.ascontiguousarray(pixels).reshape(h, -1)
    bpp = rows.shape[1] // w
    out = np.empty((h, rows.shape[1] + 1), dtype=np.uint8)
    out[:, 0] = 1
    out[:, 1:1 + bpp] = rows[:, :bpp]
    np.subtract(rows[:, bpp:], rows[:, :-bpp], out=out[:, 1 + bpp:])  # uint8: wraps modulo 256, as PNG says
    if h > 1:
        repeats = np.flatnonzero((rows[1:] == rows[:-1]).all(axis=1)) + 1
        out[repeats, 0] = 2
        out[repeats, 1:] = 0
    return out.tobytes()


def encode_png(rgba: np.ndarray, scale: float = 1) -> bytes:
    """Lossless PNG bytes of an (h, w, 4) (or (h, w, 3)) uint8 image whose rows go top to bottom,
    each pixel enlarged to ``scale`` x ``scale``; the colour type is the smallest that is exact."""
    arr = _checked(rgba)
    if not _opaque(arr):
        return _png(arr, RGBA, scale)
    rgb = arr[..., :3]
    if _grey(rgb):
        return _png(rgb[..., 0], GREY, scale)
    indexed = palette_image(rgb)
    if indexed is not None:
        return _png(indexed[0], PALETTE, scale, indexed[1])
    return _png(rgb, RGB, scale)


def encode_frame(rgba: np.ndarray, scale: float = 1) -> tuple[str, bytes]:
    """(MIME type, bytes) of an (h, w, 4) uint8 image (rows top to bottom) enlarged ``scale``
    times, exactly: a grey or palette PNG when it fits, else lossless WebP (not opaque: PNG)."""
    arr = _checked(rgba)
    if not _opaque(arr):
        return "image/png", _png(arr, RGBA, scale)
    rgb = arr[..., :3]
    if _grey(rgb):
        return "image/png", _png(rgb[..., 0], GREY, scale)
    indexed = palette_image(rgb)
    if indexed is not None:
        return "image/png", _png(indexed[0], PALETTE, scale, indexed[1])
    from PIL import Image

    # handed over as opaque RGBA: Pillow then uses the array's memory as it is (RGB would be
    # copied into its 4-byte layout first), and the encoder stores no alpha for an opaque image
    rgba = np.ascontiguousarray(enlarge(arr if arr.shape[2] == 4 else np.dstack([arr, np.full(arr.shape[:2], 255,
                                                                                               np.uint8)]), scale))
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="WEBP", lossless=True, quality=0, method=0)
    return "image/webp", buf.getvalue()


def enlarged_shape(shape: tuple[int, int], scale: float) -> tuple[int, int]:
    """(h, w) of a frame of ``shape`` enlarged ``scale`` times (whole pixels, never smaller)."""
    scale = max(1.0, float(scale))
    return tuple(max(int(n), int(math.floor(int(n) * scale + 1e-9))) for n in shape[:2])


def enlarge(pixels: np.ndarray, scale: float) -> np.ndarray:
    """``pixels`` (h, w[, c]) enlarged ``scale`` times by nearest neighbour: each cell becomes
    ``scale`` x ``scale`` pixels when ``scale`` is whole, else ``floor`` or ``ceil`` of it.
    RGBA pixels are moved as one 32-bit word each (four times fewer elements to copy)."""
    h, w = pixels.shape[:2]
    big_h, big_w = enlarged_shape((h, w), scale)
    if (big_h, big_w) == (h, w):
        return pixels
    if pixels.ndim == 3 and pixels.shape[2] == 4 and pixels.dtype == np.uint8:
        words = np.ascontiguousarray(pixels).view(np.uint32)[..., 0]
        return enlarge(words, scale)[..., None].view(np.uint8)
    rows = np.bincount((np.arange(big_h) * h) // big_h, minlength=h)  # output rows per cell row
    cols = np.bincount((np.arange(big_w) * w) // big_w, minlength=w)
    return np.repeat(np.repeat(pixels, rows, axis=0), cols, axis=1)


def _checked(rgba: np.ndarray) -> np.ndarray:
    arr = np.asarray(rgba)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an (h, w, 3|4) uint8 image, got {arr.dtype} {arr.shape}")
    return arr


def _opaque(arr: np.ndarray) -> bool:
    return arr.shape[2] == 3 or bool((arr[..., 3] == 255).all())


def _grey(rgb: np.ndarray) -> bool:
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def _png(pixels: np.ndarray, kind: int, scale: float, palette: Optional[np.ndarray] = None) -> bytes:
    """PNG bytes of (h, w[, c]) uint8 samples of colour type ``kind``, enlarged ``scale`` times."""
    pixels = enlarge(pixels, scale)
    h, w = pixels.shape[:2]
    deflate = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    idat = deflate.compress(_filtered_rows(pixels)) + deflate.flush()
    header = struct.pack(">IIBBBBB", w, h, 8, kind, 0, 0, 0)
    plte = _chunk(b"PLTE", palette.tobytes()) if palette is not None else b""
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + plte + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def data_url(data: bytes, mime: str = "image/png") -> str:
    """A ``data:`` URL of image bytes (what an HTML image, or Bokeh's ``ImageURL`` glyph, loads)."""
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def bytes_from_data_url(url: str) -> tuple[str, bytes]:
    """(MIME type, bytes) of a URL made by :func:`data_url` (ValueError for any other)."""
    head, sep, body = url.partition(",") if isinstance(url, str) else ("", "", "")
    if not sep or not head.startswith("data:image/") or not head.endswith(";base64"):
        raise ValueError("not a base64 image data URL")
    return head[5:-7], base64.b64decode(body)


def png_from_data_url(url: str) -> bytes:
    """The PNG bytes of a PNG data URL (ValueError for any other)."""
    mime, data = bytes_from_data_url(url)
    if mime != "image/png":
        raise ValueError(f"not a PNG data URL ({mime})")
    return data


def upscale_factor(shape: tuple[int, int], width: int, height: int, most: int = 16) -> float:
    """How many screen pixels per cell a frame of ``shape`` (h, w) needs to be drawn without the
    browser's smoothing at ``width`` x ``height``: 1 below 1.5 screen pixels per cell; else the
    nearest whole number when the enlarged frame fits the screen, or the screen's own ratio (a
    whole number rounded up would make an image larger than the screen: more to encode and
    send, for the browser to shrink again)."""
    h, w = shape
    ratio = min(width / max(w, 1), height / max(h, 1), float(most))
    if ratio < 1.5:
        return 1
    k = int(round(ratio))
    return k if k <= ratio + 1e-9 else ratio
