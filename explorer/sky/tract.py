"""Tracts and patches of a sky map: pixel grids, WCS and their outlines on the sky.

A re-implementation of ``lsst.skymap``'s ``TractInfo``/``ExplicitTractInfo`` with the "legacy"
tract builder (``LegacyTractBuilder``) and ``PatchInfo``, without afw:

* A tract is one big TAN (or STG) image. Its pixel grid ``bbox`` starts at (0, 0) and is an exact
  multiple of the patch inner size; the WCS reference pixel is wherever that put the tract
  centre. Pixels follow the LSST convention: 0-based, centres on integers, so pixel ``i`` covers
  ``[i - 0.5, i + 0.5]``.
* Patch ``(x, y)`` has inner box ``[x*W, (x+1)*W) x [y*H, (y+1)*H)`` (W, H = patch inner
  dimensions); its outer box grows that by ``patch_border`` and is clipped to the tract.
* Sky outlines of boxes are the four corners of the box's *pixel edges* (``Box2D(bbox)``
  corners, ``-0.5`` and ``dim - 0.5``) mapped through the WCS, joined by great circles — what
  ``lsst.skymap``'s ``makeSkyPolygonFromBBox`` gives for ``outer_sky_polygon`` and the patch
  polygons that the Gen3 registry stores.
* The tract's *inner* region is the part of the sky the tract is responsible for. For a rings
  sky map it is an RA/Dec box (one ring in Dec, ``360/n`` degrees in RA) and a polar cap for
  tracts 0 and N-1, as in current ``lsst.skymap`` (``TractInfo.inner_sky_region``); the inner
  regions tile the sky exactly. ``inner_vertices_deg`` gives the box's four corners.

Why this module is over 400 lines: it re-implements ``lsst.skymap``'s ``TractInfo`` and
``PatchInfo`` (with cells), one object each, whole, so that they read against
``lsst.skymap``'s own classes; the skymap that makes them is in :mod:`.skymap`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from . import geometry as geo
from .errors import BadPatchError, NotInTractError

if TYPE_CHECKING:  # pragma: no cover
    from astropy.wcs import WCS

BBox = tuple[int, int, int, int]  # (x0, y0, width, height) in tract pixels


def bbox_corners(bboxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-edge corners of integer boxes ``(..., 4)`` = (x0, y0, w, h): arrays ``(..., 4)`` x, y.

    Order (x0, y0), (x1, y0), (x1, y1), (x0, y1) — afw's ``Box2D.getCorners()``. With the tract
    WCS (+x west, +y north) this order runs clockwise on the sky.
    """
    b = np.asarray(bboxes, dtype=float)
    xa = b[..., 0] - 0.5
    ya = b[..., 1] - 0.5
    xb = b[..., 0] + b[..., 2] - 0.5
    yb = b[..., 1] + b[..., 3] - 0.5
    return (np.stack([xa, xb, xb, xa], axis=-1), np.stack([ya, ya, yb, yb], axis=-1))


@dataclass(frozen=True)
class PatchInfo:
    """One patch of a tract.

    ``inner_bbox`` tiles the tract exactly; ``outer_bbox`` adds the patch border (clipped to the
    tract). Boxes are ``(x0, y0, width, height)`` in tract pixels. The vertex arrays are ``(4, 2)``
    RA/Dec degrees of the box corners, in :func:`bbox_corners` order.
    """

    tract_id: int
    index: tuple[int, int]
    sequential_index: int
    inner_bbox: BBox
    outer_bbox: BBox
    inner_vertices_deg: np.ndarray = field(compare=False, repr=False)
    outer_vertices_deg: np.ndarray = field(compare=False, repr=False)
    #: cell geometry (cells tract builder only): cells across the patch (x, y), 0 without cells
    num_cells: tuple[int, int] = (0, 0)
    cell_inner_dimensions: tuple[int, int] = (0, 0)
    cell_border: int = 0
    num_cells_in_patch_border: int = 0

    def cell_inner_bbox(self, x: int, y: int) -> BBox:
        """(x0, y0, w, h) tract pixels of cell ``(x, y)`` (``PatchInfo.getCellInfo(...).inner_bbox``):
        cell (0, 0) starts ``num_cells_in_patch_border`` cells before the patch inner box."""
        nx, ny = self.num_cells
        if not (0 <= x < nx and 0 <= y < ny):
            raise BadPatchError(f"cell {x},{y} is outside patch {self.name}'s {nx}x{ny} cells")
        w, h = self.cell_inner_dimensions
        b = self.num_cells_in_patch_border
        return (self.inner_bbox[0] + (x - b) * w, self.inner_bbox[1] + (y - b) * h, w, h)

    def cell_outer_bbox(self, x: int, y: int) -> BBox:
        """The cell's inner box grown by the cell border."""
        x0, y0, w, h = self.cell_inner_bbox(x, y)
        c = self.cell_border
        return (x0 - c, y0 - c, w + 2 * c, h + 2 * c)

    def cell_inner_bboxes(self) -> np.ndarray:
        """``(ny * nx, 4)`` inner boxes of every cell, sequential order (``y * nx + x``)."""
        nx, ny = self.num_cells
        if nx == 0:
            return np.zeros((0, 4), dtype=np.int64)
        y, x = np.divmod(np.arange(nx * ny, dtype=np.int64), nx)
        w, h = self.cell_inner_dimensions
        b = self.num_cells_in_patch_border
        return np.stack([self.inner_bbox[0] + (x - b) * w, self.inner_bbox[1] + (y - b) * h,
                         np.full_like(x, w), np.full_like(y, h)], axis=-1)

    @property
    def name(self) -> str:
        """Gen2-style patch name ``"x,y"``."""
        return f"{self.index[0]},{self.index[1]}"

    @property
    def center_deg(self) -> tuple[float, float]:
        """RA/Dec of the centre of the inner box (the mean of its unit-vector corners)."""
        ra, dec = geo.xyz_to_radec(np.sum(geo.radec_to_xyz(self.inner_vertices_deg[:, 0],
                                                          self.inner_vertices_deg[:, 1]), axis=0))
        return float(ra), float(dec)

    def __str__(self) -> str:
        return f"PatchInfo(tract={self.tract_id}, patch={self.name})"


class TractInfo:
    """One tract of a sky map (see the module docstring for the conventions).

    Built by :class:`explorer.sky.RingsSkyMap`; use ``skymap.tract(id)``.
    """

    def __init__(self, *, tract_id: int, ctr_coord: tuple[float, float], crpix: tuple[float, float],
                 dimensions: tuple[int, int], patch_inner_dimensions: tuple[int, int],
                 patch_border: int, cd: np.ndarray, projection: str,
                 inner_box: tuple[float, float, float, float], ring: int, num_rings: int,
                 tract_overlap_deg: float, cells=None):
        self.tract_id = int(tract_id)
        self.ctr_coord = (float(ctr_coord[0]), float(ctr_coord[1]))
        self.crpix = (float(crpix[0]), float(crpix[1]))  # 0-based (LSST) reference pixel
        self.bbox: BBox = (0, 0, int(dimensions[0]), int(dimensions[1]))
        self.patch_inner_dimensions = (int(patch_inner_dimensions[0]), int(patch_inner_dimensions[1]))
        self.patch_border = int(patch_border)
        self.cd = np.array(cd, dtype=float)
        self.projection = projection
        self.ring = int(ring)  # -1 south cap, num_rings north cap
        self.num_rings = int(num_rings)
        self.tract_overlap_deg = float(tract_overlap_deg)
        #: the cells tract builder's config (explorer.sky.skymap.CellTractBuilderConfig) or None
        self.cells = cells
        #: inner region as (ra_min, ra_max, dec_min, dec_max) degrees; ra_min in [0, 360) and
        #: ra_max = ra_min + width (may exceed 360); polar caps span RA 0..360.
        self.inner_box_deg = tuple(float(v) for v in inner_box)
        self.num_patches = (self.bbox[2] // self.patch_inner_dimensions[0],
                            self.bbox[3] // self.patch_inner_dimensions[1])
        self._wcs: WCS | None = None
        self._lock = threading.Lock()
        self._patch_lock = threading.Lock()
        self._patch_cache: dict[tuple[int, int], PatchInfo] = {}

    # ----------------------------------------------------------------- WCS and pixel <-> sky
    @property
    def wcs(self) -> "WCS":
        """The tract WCS as ``astropy.wcs.WCS`` (CTYPE RA---TAN, FITS CRPIX = LSST crpix + 1).

        LSST pixel positions are 0-based: use ``wcs.pixel_to_world_values(x, y)`` or
        ``wcs.wcs_pix2world(x, y, 0)`` to get what afw's ``SkyWcs.pixelToSky`` gives.
        """
        with self._lock:
            if self._wcs is None:
                from astropy.wcs import WCS

                w = WCS(naxis=2)
                w.wcs.ctype = [f"RA---{self.projection}", f"DEC--{self.projection}"]
                w.wcs.crval = list(self.ctr_coord)
                w.wcs.crpix = [self.crpix[0] + 1.0, self.crpix[1] + 1.0]
                w.wcs.cd = self.cd
                w.wcs.radesys = "ICRS"
                w.wcs.equinox = 2000.0
                w.pixel_shape = (self.bbox[2], self.bbox[3])
                w.wcs.set()
                self._wcs = w
            return self._wcs

    def pixel_to_sky(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """RA/Dec (degrees) of 0-based tract pixel positions (vectorised, no astropy call)."""
        return geo.pixel_to_sky(x, y, self.crpix, self.ctr_coord, self.cd, self.projection)

    def sky_to_pixel(self, ra_deg, dec_deg) -> tuple[np.ndarray, np.ndarray]:
        """0-based tract pixel positions of RA/Dec (degrees); NaN where the projection fails."""
        return geo.sky_to_pixel(ra_deg, dec_deg, self.crpix, self.ctr_coord, self.cd, self.projection)

    # ----------------------------------------------------------------- regions
    @property
    def outer_vertices_deg(self) -> np.ndarray:
        """(4, 2) RA/Dec of the tract bbox corners (``outer_sky_polygon`` in lsst.skymap)."""
        xs, ys = bbox_corners(np.array(self.bbox))
        ra, dec = self.pixel_to_sky(xs, ys)
        return np.stack([ra, dec], axis=-1)

    @property
    def inner_vertices_deg(self) -> np.ndarray:
        """(4, 2) RA/Dec corners of the inner region, counter-clockwise on the sky.

        Ring tracts: (ra_min, dec_min), (ra_max, dec_min), (ra_max, dec_max), (ra_min, dec_max),
        RA wrapped to [0, 360). Polar caps have no corners; they get four points on the cap's
        edge (RA 0, 90, 180, 270 from raStart), a square inscribed in the cap. Note the inner
        region's Dec edges are parallels, not great circles: use :meth:`contains_inner` for exact
        membership and :attr:`inner_area_deg2` for its exact area.
        """
        return _inner_vertices(np.array([self.inner_box_deg]), np.array([self.ring]), self.num_rings)[0]

    @property
    def inner_area_deg2(self) -> float:
        """Exact area of the inner region (RA/Dec box or polar cap), square degrees."""
        ra0, ra1, d0, d1 = self.inner_box_deg
        return float(geo.box_area_deg2(ra1 - ra0, d0, d1))

    def contains_inner(self, ra_deg, dec_deg) -> np.ndarray | bool:
        """Whether points lie in the tract's inner region (closed RA/Dec box; vectorised)."""
        ra = np.asarray(ra_deg, dtype=float)
        dec = np.asarray(dec_deg, dtype=float)
        ra0, ra1, d0, d1 = self.inner_box_deg
        in_dec = (dec >= d0) & (dec <= d1)
        if ra1 - ra0 >= 360.0:
            result = in_dec
        else:
            result = in_dec & (((ra - ra0) % 360.0) <= (ra1 - ra0))
        return bool(result) if result.ndim == 0 else result

    def contains(self, ra_deg, dec_deg) -> np.ndarray | bool:
        """Whether points fall on the tract's pixel grid (``TractInfo.contains`` in lsst.skymap).

        The pixel position is rounded to the nearest integer pixel, then tested against bbox.
        Non-finite input and points the projection cannot reach give False.
        """
        x, y = self.sky_to_pixel(ra_deg, dec_deg)
        with np.errstate(invalid="ignore"):
            ix, iy = np.floor(x + 0.5), np.floor(y + 0.5)
            ok = (np.isfinite(x) & np.isfinite(y) & (ix >= 0) & (iy >= 0)
                  & (ix < self.bbox[2]) & (iy < self.bbox[3]))
        return bool(ok) if np.ndim(ok) == 0 else ok

    # ----------------------------------------------------------------- patches
    def _parse_patch(self, x, y=None) -> tuple[int, int]:
        if y is None:
            if isinstance(x, str):
                parts = x.replace(" ", "").split(",")
                try:
                    px, py = (int(p) for p in parts)
                except ValueError:
                    raise BadPatchError(f"patch name {x!r} is not of the form 'x,y'") from None
            elif isinstance(x, (tuple, list)) and len(x) == 2:
                px, py = x
            else:
                raise BadPatchError(f"patch index {x!r} is neither 'x,y' nor an (x, y) pair")
        else:
            px, py = x, y
        for v in (px, py):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise BadPatchError(f"patch index ({px!r}, {py!r}) must be two integers")
        px, py = int(px), int(py)
        nx, ny = self.num_patches
        if not (0 <= px < nx and 0 <= py < ny):
            raise BadPatchError(f"patch {px},{py} is outside tract {self.tract_id}'s "
                                f"{nx}x{ny} patch grid (x in 0..{nx - 1}, y in 0..{ny - 1})")
        return px, py

    def _patch_boxes(self, ix: np.ndarray, iy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w, h = self.patch_inner_dimensions
        inner = np.stack([ix * w, iy * h, np.full_like(ix, w), np.full_like(iy, h)], axis=-1)
        b = self.patch_border
        x0, y0 = inner[:, 0] - b, inner[:, 1] - b
        x1, y1 = inner[:, 0] + w + b, inner[:, 1] + h + b
        if self.cells is None:  # the legacy builder clips the outer box to the tract; cells do not
            x0, y0 = np.maximum(x0, 0), np.maximum(y0, 0)
            x1, y1 = np.minimum(x1, self.bbox[2]), np.minimum(y1, self.bbox[3])
        outer = np.stack([x0, y0, x1 - x0, y1 - y0], axis=-1)
        return inner, outer

    def _make_patches(self, indices: Sequence[tuple[int, int]]) -> list[PatchInfo]:
        with self._patch_lock:
            return self._make_patches_locked(indices)

    def _make_patches_locked(self, indices: Sequence[tuple[int, int]]) -> list[PatchInfo]:
        missing = [ij for ij in indices if ij not in self._patch_cache]
        if missing:
            ix = np.array([ij[0] for ij in missing], dtype=np.int64)
            iy = np.array([ij[1] for ij in missing], dtype=np.int64)
            inner, outer = self._patch_boxes(ix, iy)
            xi, yi = bbox_corners(inner)
            xo, yo = bbox_corners(outer)
            ra_i, dec_i = self.pixel_to_sky(xi, yi)
            ra_o, dec_o = self.pixel_to_sky(xo, yo)
            nx = self.num_patches[0]
            for k, ij in enumerate(missing):
                vi = np.stack([ra_i[k], dec_i[k]], axis=-1)
                vo = np.stack([ra_o[k], dec_o[k]], axis=-1)
                vi.flags.writeable = False
                vo.flags.writeable = False
                self._patch_cache[ij] = PatchInfo(
                    tract_id=self.tract_id, index=ij, sequential_index=ij[1] * nx + ij[0],
                    inner_bbox=tuple(int(v) for v in inner[k]), outer_bbox=tuple(int(v) for v in outer[k]),
                    inner_vertices_deg=vi, outer_vertices_deg=vo, **self._cell_fields())
        return [self._patch_cache[ij] for ij in indices]

    def _cell_fields(self) -> dict:
        c = self.cells
        if c is None:
            return {}
        n = c.num_cells_per_patch
        return {"num_cells": (n, n), "cell_inner_dimensions": tuple(c.cell_inner_dimensions),
                "cell_border": int(c.cell_border), "num_cells_in_patch_border": int(c.num_cells_in_patch_border)}

    def patch(self, x, y=None) -> PatchInfo:
        """The patch at index ``(x, y)``; also accepts ``patch("x,y")`` or ``patch((x, y))``."""
        return self._make_patches([self._parse_patch(x, y)])[0]

    def patches(self) -> list[PatchInfo]:
        """All patches, in sequential-index order (y-major: (0,0), (1,0), ...)."""
        nx, ny = self.num_patches
        return self._make_patches([(x, y) for y in range(ny) for x in range(nx)])

    def patch_vertices_array(self, outer: bool = False) -> np.ndarray:
        """``(ny * nx, 4, 2)`` RA/Dec corners of every patch's inner (or outer) box, indexed by
        sequential patch id; vectorised, for drawing a tract's patch grid."""
        nx, ny = self.num_patches
        iy, ix = np.divmod(np.arange(nx * ny, dtype=np.int64), nx)
        inner, outer_boxes = self._patch_boxes(ix, iy)
        xs, ys = bbox_corners(outer_boxes if outer else inner)
        ra, dec = self.pixel_to_sky(xs, ys)
        return np.stack([ra, dec], axis=-1)

    def sequential_index(self, x, y=None) -> int:
        """Gen3 patch id of ``(x, y)``: ``y * nx + x``."""
        px, py = self._parse_patch(x, y)
        return py * self.num_patches[0] + px

    def patch_from_sequential(self, index: int) -> PatchInfo:
        """The patch with Gen3 id ``index`` (= ``y * nx + x``)."""
        nx, ny = self.num_patches
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < nx * ny:
            raise BadPatchError(f"sequential patch index {index!r} is not an integer in 0..{nx * ny - 1} "
                                f"for tract {self.tract_id}")
        return self.patch(int(index) % nx, int(index) // nx)

    def find_patch(self, ra_deg: float, dec_deg: float) -> PatchInfo:
        """The patch whose inner box holds the point (``TractInfo.findPatch``).

        Raises NotInTractError (a LookupError) when the point is not on this tract's pixel grid.
        """
        x, y = self.sky_to_pixel(float(ra_deg), float(dec_deg))
        if not (np.isfinite(x) and np.isfinite(y)):
            raise NotInTractError(f"({ra_deg}, {dec_deg}) cannot be projected onto tract {self.tract_id}")
        ix, iy = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
        if not (0 <= ix < self.bbox[2] and 0 <= iy < self.bbox[3]):
            raise NotInTractError(f"({ra_deg}, {dec_deg}) is not in tract {self.tract_id}")
        return self.patch(ix // self.patch_inner_dimensions[0], iy // self.patch_inner_dimensions[1])

    def find_patch_list(self, coords: Iterable[Sequence[float]] | np.ndarray) -> list[PatchInfo]:
        """Patches that contain, or may contain, the region with these (ra, dec) vertices.

        As ``TractInfo.findPatchList``: the pixel bounding box of the points (points the
        projection cannot reach are skipped), grown by the patch border and clipped to the tract,
        then every patch whose inner box meets it. Order: x-major, as lsst.skymap returns them.
        """
        pts = np.asarray(list(coords) if not isinstance(coords, np.ndarray) else coords, dtype=float)
        if pts.size == 0:
            return []
        pts = pts.reshape(-1, 2)
        x, y = self.sky_to_pixel(pts[:, 0], pts[:, 1])
        good = np.isfinite(x) & np.isfinite(y)
        if not np.any(good):
            return []
        # Box2I(Box2D, EXPAND): every pixel the box touches.
        x0 = int(np.floor(x[good].min() + 0.5)) - self.patch_border
        y0 = int(np.floor(y[good].min() + 0.5)) - self.patch_border
        x1 = int(np.ceil(x[good].max() - 0.5)) + self.patch_border
        y1 = int(np.ceil(y[good].max() - 0.5)) + self.patch_border
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, self.bbox[2] - 1), min(y1, self.bbox[3] - 1)
        if x1 < x0 or y1 < y0:
            return []
        w, h = self.patch_inner_dimensions
        return self._make_patches([(px, py) for px in range(x0 // w, x1 // w + 1)
                                   for py in range(y0 // h, y1 // h + 1)])

    # ----------------------------------------------------------------- container protocol
    def __len__(self) -> int:
        return self.num_patches[0] * self.num_patches[1]

    def __iter__(self):
        return iter(self.patches())

    def __getitem__(self, index) -> PatchInfo:
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            return self.patch_from_sequential(index)
        return self.patch(index)

    def __eq__(self, other) -> bool:
        return (isinstance(other, TractInfo) and other.tract_id == self.tract_id
                and other.ctr_coord == self.ctr_coord and other.bbox == self.bbox
                and other.crpix == self.crpix)

    def __hash__(self) -> int:
        return hash((self.tract_id, self.ctr_coord, self.bbox))

    def __repr__(self) -> str:
        return (f"TractInfo(id={self.tract_id}, ctr=({self.ctr_coord[0]:.6f}, {self.ctr_coord[1]:.6f}), "
                f"bbox={self.bbox}, patches={self.num_patches})")


def _inner_vertices(boxes: np.ndarray, rings: np.ndarray, num_rings: int) -> np.ndarray:
    """(N, 4, 2) inner-region corners for boxes ``(N, 4)`` (ra0, ra1, dec0, dec1) and ring numbers.

    Ring tracts: box corners counter-clockwise from (ra0, dec0). Caps (``ring == -1`` or
    ``ring == num_rings``): four points on the cap edge, a square inscribed in the cap,
    counter-clockwise seen from outside the sphere.
    """
    boxes = np.asarray(boxes, dtype=float)
    rings = np.asarray(rings)
    ra0, ra1, d0, d1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    ras = np.stack([ra0, ra1, ra1, ra0], axis=-1)
    decs = np.stack([d0, d0, d1, d1], axis=-1)
    south = rings == -1
    north = rings == num_rings
    if np.any(south):
        # interior around the south pole: counter-clockwise seen from outside = decreasing RA
        ras[south] = (ra0[south, None] - np.array([0.0, 90.0, 180.0, 270.0])) % 360.0
        decs[south] = d1[south, None]
    if np.any(north):
        ras[north] = (ra0[north, None] + np.array([0.0, 90.0, 180.0, 270.0])) % 360.0
        decs[north] = d0[north, None]
    return np.stack([ras % 360.0, decs], axis=-1)
