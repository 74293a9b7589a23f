"""Exact pixel <-> sky mappings through Starlink AST (``starlink-pyast``), without afw or astshim.

Two sources of AST text are read:

* afw's archived ``SkyWcs`` (the ``wcs`` column of a ``SkyWcs`` ARCHIVE_DATA row): a short
  header (``"1 SkyWcs 0 "``: version, class name, flags) and then the native AST serialisation of
  a FrameSet whose base frame is ``PIXELS`` (afw's 0-based parent pixel coordinates, xy0 included)
  and whose current frame is the ICRS ``SKY`` frame. This is exact for every afw WCS, including the
  ones that have no FITS form (then afw writes no WCS cards at all).
* lsst.images' sky projections, as the AST text of the simplified pixel -> sky Mapping
  (:meth:`lsst.images.Transform.show`); its pixel frame is the parent (detector or tract) frame.

AST sky axes are radians; :class:`AstSkyMapping` speaks degrees, RA in [0, 360), and works on
whole arrays in one ``tran`` call (a catalog overlay of 10^5 points is one call, not a loop).
A mapping is picklable (it keeps its text) and thread-safe (AST calls are serialised per object).
"""
from __future__ import annotations

import math
import threading
from typing import Any, Optional

import numpy as np

from .errors import BadFileError


class _LineSource:
    """Feeds text to ``starlink.Ast.Channel`` one line at a time."""

    def __init__(self, text: str):
        self._lines = text.splitlines()
        self._i = 0

    def astsource(self) -> Optional[str]:
        if self._i >= len(self._lines):
            return None
        self._i += 1
        return self._lines[self._i - 1]


def _read_ast(text: str) -> Any:
    import starlink.Ast as Ast

    try:
        obj = Ast.Channel(_LineSource(text)).read()
    except Exception as exc:  # AST raises its own error types for malformed text
        raise BadFileError(f"unreadable AST mapping ({' '.join(str(exc).split())[:120]})") from None
    if obj is None:
        raise BadFileError("no AST object in the mapping text")
    return obj


class AstSkyMapping:
    """An exact, vectorised pixel <-> sky mapping (pixels: LSST parent convention, 0-based).

    Parameters
    ----------
    text
        Native AST serialisation of a Mapping (2 inputs: x, y; 2 outputs: RA, Dec in radians)
        or of a FrameSet whose base frame is the pixel frame and current frame a SkyFrame.
    source
        Where it came from, for display: e.g. ``"afw SkyWcs"``, ``"lsst.images"``.
    """

    def __init__(self, text: str, source: str = "AST"):
        self.text = text
        self.source = source
        self._lock = threading.Lock()
        self._mapping = self._build(text)

    @staticmethod
    def _build(text: str) -> Any:
        import starlink.Ast as Ast

        obj = _read_ast(text)
        if isinstance(obj, Ast.FrameSet):
            current = obj.getframe(Ast.CURRENT)
            if not isinstance(current, Ast.SkyFrame):
                raise BadFileError("the AST FrameSet's current frame is not a sky frame")
            system = str(current.System).upper()
            if system not in ("ICRS", "FK5"):  # FK5 J2000 and ICRS differ by < 0.03"; afw writes ICRS
                raise BadFileError(f"the AST sky frame is in {system}, not ICRS")
            mapping = obj.getmapping(Ast.BASE, Ast.CURRENT)
        elif isinstance(obj, Ast.Mapping):
            mapping = obj
        else:
            raise BadFileError(f"the AST object is a {type(obj).__name__}, not a Mapping")
        if mapping.Nin != 2 or mapping.Nout != 2:
            raise BadFileError(f"the AST mapping has {mapping.Nin} inputs and {mapping.Nout} outputs, not 2 and 2")
        return mapping.simplify()

    # --- constructors -----------------------------------------------------------------------
    @classmethod
    def from_afw_skywcs(cls, raw: Any) -> "AstSkyMapping":
        """From the ``wcs`` cell of an afw ``SkyWcs`` archive row (bytes, a uint8 array or str)."""
        if isinstance(raw, np.ndarray):
            raw = raw.tobytes()
        text = raw.decode("ascii", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
        start = text.find("Begin ")
        if start < 0:
            raise BadFileError("the SkyWcs archive row holds no AST text")
        # The line the AST object starts on begins with the header ("1 SkyWcs 0 "): drop it.
        return cls(" " + text[start:], source="afw SkyWcs (AST)")

    # --- pickling: the text is the state -----------------------------------------------------
    def __getstate__(self) -> dict:
        return {"text": self.text, "source": self.source}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["text"], state["source"])

    # --- transforms ---------------------------------------------------------------------------
    def _tran(self, a: Any, b: Any, forward: bool) -> tuple[np.ndarray, np.ndarray]:
        a = np.asarray(a, dtype=float)
        b = np.asarray(b, dtype=float)
        a, b = np.broadcast_arrays(a, b)
        shape = a.shape
        pts = np.vstack([a.ravel(), b.ravel()])
        if pts.shape[1] == 0:
            return np.empty(shape), np.empty(shape)
        with self._lock:
            out = np.asarray(self._mapping.tran(pts, forward), dtype=float)
        out = np.where(np.abs(out) > 1e30, np.nan, out)  # AST__BAD (-DBL_MAX) -> NaN
        return out[0].reshape(shape), out[1].reshape(shape)

    def pixel_to_sky(self, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """RA, Dec (degrees; RA in [0, 360)) of parent pixel positions (arrays or scalars)."""
        ra, dec = self._tran(x, y, True)
        return np.degrees(ra) % 360.0, np.degrees(dec)

    def sky_to_pixel(self, ra_deg: Any, dec_deg: Any) -> tuple[np.ndarray, np.ndarray]:
        """Parent pixel positions of RA, Dec in degrees; NaN where the mapping has no inverse there."""
        return self._tran(np.radians(np.asarray(ra_deg, float)), np.radians(np.asarray(dec_deg, float)), False)

    def pixel_scale_arcsec(self, x: float, y: float) -> Optional[float]:
        """Mean pixel scale (arcsec) at a parent pixel, from the exact mapping."""
        ra, dec = self.pixel_to_sky(np.array([x, x + 1.0, x]), np.array([y, y, y + 1.0]))
        if not np.all(np.isfinite(ra)):
            return None
        dx = _separation_arcsec(ra[0], dec[0], ra[1], dec[1])
        dy = _separation_arcsec(ra[0], dec[0], ra[2], dec[2])
        scale = math.sqrt(dx * dy)
        return scale if math.isfinite(scale) and scale > 0 else None

    def __repr__(self) -> str:
        return f"AstSkyMapping(source={self.source!r})"


def _separation_arcsec(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle separation by the haversine formula (exact for sub-arcsecond angles)."""
    r1, d1, r2, d2 = (math.radians(float(v)) for v in (ra1, dec1, ra2, dec2))
    h = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2
    return math.degrees(2 * math.asin(math.sqrt(min(1.0, h)))) * 3600


def approximate_fits_wcs(mapping: AstSkyMapping, shape: tuple[int, int], xy0: tuple[int, int]):
    """A TAN-SIP astropy WCS fitted to the exact mapping over the image, in the FITS convention of
    the local pixel grid (as the header WCS would be), for code that needs an astropy WCS; None
    when the fit fails. The exact mapping stays the reference for positions."""
    import warnings

    from astropy.coordinates import SkyCoord
    from astropy.wcs.utils import fit_wcs_from_points
    import astropy.units as u

    ny, nx = shape
    xs, ys = np.meshgrid(np.linspace(0, nx - 1, 9), np.linspace(0, ny - 1, 9))
    ra, dec = mapping.pixel_to_sky(xs.ravel() + xy0[0], ys.ravel() + xy0[1])
    good = np.isfinite(ra) & np.isfinite(dec)
    if good.sum() < 6:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fit_wcs_from_points((xs.ravel()[good], ys.ravel()[good]),
                                       SkyCoord(ra[good] * u.deg, dec[good] * u.deg),
                                       projection="TAN", sip_degree=3 if min(nx, ny) > 16 else None)
        except Exception:
            return None
