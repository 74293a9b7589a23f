"""Exact area of the union of convex spherical polygons (overlapping tracts, patches, visits).

Method (exact up to floating point, no pixelisation): the area of a region is a line integral
over its boundary. Summing the signed areas of the spherical triangles ``(P0, a, b)`` over every
boundary arc ``a -> b`` (counter-clockwise) gives the enclosed area modulo 4π for any reference
point ``P0``. The boundary of a union of convex polygons consists of the pieces of each
polygon's edges that lie strictly inside no other polygon. For a convex polygon the part of a
great-circle edge inside it is a single interval, so each edge's exposed pieces are its
parameter range minus a union of intervals. Everything is vectorised with numpy; candidate
overlapping pairs are found by bounding caps on a 3-D grid.

Accuracy: rounding only, about 1e-12 relative for DC2 tract sets (the tests compare with an
independent clipping computation to 1e-9). Edges shared exactly by two neighbours (abutting
inner regions) are kept on both sides and cancel; edges that overlap running the same way
(outer patch boxes along a tract edge) are kept once; exact duplicate polygons are counted
once. Non-convex polygons raise ValueError.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from . import geometry as geo

# An edge that lies along the great circle of another polygon's edge (|n.p| below this along the
# whole circle) is never counted as covered by that polygon: shared edges stay on both sides and
# cancel. Edges that cross are clipped exactly.
_COINCIDENT = 1e-12


def _prepare(polygons: Iterable) -> list[np.ndarray]:
    """Unit-vector vertex arrays ``(P, n, 3)`` grouped by vertex count ``n``, counter-clockwise,
    exact duplicates dropped. Vectorised per group (tens of thousands of tracts in ~0.1 s)."""
    if isinstance(polygons, np.ndarray) and polygons.ndim == 3:
        checked = [np.asarray(polygons, dtype=float)]
    else:
        by_len: dict[int, list[np.ndarray]] = {}
        for k, poly in enumerate(polygons):
            v = np.asarray(poly, dtype=float)
            if v.ndim != 2 or v.shape[1] != 2 or v.shape[0] < 3:
                raise ValueError(f"polygon {k}: need an (N>=3, 2) array of RA/Dec vertices, got shape {v.shape}")
            by_len.setdefault(v.shape[0], []).append(v)
        checked = [np.stack(vs) for vs in by_len.values()]
    out: list[np.ndarray] = []
    seen: set[bytes] = set()
    for radec in checked:
        if radec.shape[-1] != 2 or radec.shape[1] < 3:
            raise ValueError(f"need (N>=3, 2) RA/Dec vertex arrays, got shape {radec.shape[1:]}")
        if not np.all(np.isfinite(radec)):
            raise ValueError("polygon vertices must be finite")
        xyz = geo.radec_to_xyz(radec[..., 0], radec[..., 1])
        # drop polygons with repeated consecutive vertices into their own (smaller) groups
        step = np.linalg.norm(xyz - np.roll(xyz, -1, axis=1), axis=-1) > 1e-15
        clean = np.all(step, axis=1)
        for k in np.nonzero(~clean)[0]:
            v = xyz[k][step[k]]
            if len(v) >= 3:
                out.extend(_prepare([np.stack(geo.xyz_to_radec(v), axis=-1)]))
        xyz = xyz[clean]
        if len(xyz) == 0:
            continue
        ccw = geo.polygon_signed_area_sr(xyz) >= 0
        xyz = np.where(ccw[:, None, None], xyz, xyz[:, ::-1])
        normals = np.cross(xyz, np.roll(xyz, -1, axis=1))
        slack = -1e-12 * np.linalg.norm(normals, axis=-1)[:, :, None]
        if np.any(np.einsum("pkx,pjx->pkj", normals, xyz) < slack):
            raise ValueError("polygon is not convex")
        # a convex polygon is its vertex set: dedupe on the sorted, rounded vertices
        r = np.round(xyz, 12)
        order = np.lexsort((r[..., 2], r[..., 1], r[..., 0]), axis=-1)
        keys = np.take_along_axis(r, order[..., None], axis=1).reshape(len(r), -1)
        _, first = np.unique(keys, axis=0, return_index=True)
        first = np.sort(first)
        keep = []
        for i in first:
            kb = keys[i].tobytes()
            if kb not in seen:
                seen.add(kb)
                keep.append(i)
        out.append(xyz[keep])
    return out


def _candidate_pairs(centers: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ordered pairs (i, j), i != j, whose bounding caps intersect."""
    n = len(centers)
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    cell = max(2.0 * np.sin(min(2 * radii.max(), np.pi) / 2.0), 1e-6) * 1.0001  # chord of 2*rmax
    ijk = np.floor(centers / cell).astype(np.int64)
    span = int(np.ceil(2.0 / cell)) + 4
    off = span // 2
    keys = ((ijk[:, 0] + off) * span + (ijk[:, 1] + off)) * span + (ijk[:, 2] + off)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    ii, jj = [], []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for dz in (-1, 0, 1):
                target = keys + (dx * span + dy) * span + dz
                lo = np.searchsorted(sorted_keys, target, side="left")
                hi = np.searchsorted(sorted_keys, target, side="right")
                counts = hi - lo
                if counts.sum() == 0:
                    continue
                i = np.repeat(np.arange(n), counts)
                starts = np.repeat(lo, counts)
                within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
                j = order[starts + within]
                ii.append(i)
                jj.append(j)
    i = np.concatenate(ii)
    j = np.concatenate(jj)
    keep = i != j
    i, j = i[keep], j[keep]
    cosang = np.clip(np.sum(centers[i] * centers[j], axis=1), -1.0, 1.0)
    keep = np.arccos(cosang) <= radii[i] + radii[j] + 1e-9
    return i[keep], j[keep]


def union_area_sr(polygons: Iterable) -> float:
    """Area (steradians) of the union of convex polygons given as ``(N, 2)`` RA/Dec arrays."""
    groups = [g for g in _prepare(polygons) if len(g)]
    if not groups:
        return 0.0
    m = max(g.shape[1] for g in groups)
    n = sum(len(g) for g in groups)
    verts = np.empty((n, m, 3))
    nverts = np.empty(n, dtype=np.int64)
    row = 0
    for g in groups:
        k = g.shape[1]
        verts[row:row + len(g), :k] = g
        verts[row:row + len(g), k:] = g[:, -1:, :]  # padding: repeat the last vertex
        nverts[row:row + len(g)] = k
        row += len(g)
    nxt_idx = (np.arange(m)[None, :] + 1) % nverts[:, None]
    nxt_idx = np.where(np.arange(m)[None, :] < nverts[:, None], nxt_idx, 0)
    a = verts
    b = np.take_along_axis(verts, nxt_idx[:, :, None], axis=1)
    valid_edge = np.arange(m)[None, :] < nverts[:, None]
    normals = np.cross(a, b)
    nn = np.linalg.norm(normals, axis=-1, keepdims=True)
    normals = normals / np.where(nn > 0, nn, 1.0)
    # padded edges reuse the polygon's first edge normal (a duplicate half-space, harmless)
    normals = np.where(valid_edge[:, :, None], normals, normals[:, :1, :])

    centers = geo.normalize(np.sum(np.where(valid_edge[:, :, None], a, 0.0), axis=1))
    radii = np.max(np.where(valid_edge, np.arccos(np.clip(np.einsum("pmk,pk->pm", a, centers), -1, 1)), 0.0),
                   axis=1)

    # Edge parameterisation p(t) = cos t * a + sin t * u, t in [0, L].
    dot_ab = np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)
    length = np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), dot_ab)
    u = b - dot_ab[..., None] * a
    un = np.linalg.norm(u, axis=-1, keepdims=True)
    u = u / np.where(un > 0, un, 1.0)

    pi, pj = _candidate_pairs(centers, radii)
    # covered intervals: for every (i, edge k of i, j)
    grp_list, lo_list, hi_list = [], [], []
    if len(pi):
        ea = a[pi]            # (P, m, 3)
        eu = u[pi]
        el = length[pi]       # (P, m)
        nj = normals[pj]      # (P, m', 3)
        A = np.einsum("pkx,pjx->pkj", ea, nj)   # (P, m edges, m' halfspaces)
        B = np.einsum("pkx,pjx->pkj", eu, nj)
        R = np.hypot(A, B)
        phi = np.arctan2(B, A)
        alpha = np.pi / 2  # inside the half-space: |t - phi| < pi/2
        coincident = R <= _COINCIDENT
        # Along an edge of j: if both edges run the same way the two polygons share that piece
        # of boundary on the same side; let the lower-numbered polygon own it. Opposite ways:
        # an internal boundary, kept by both and cancelling.
        same_way = np.einsum("pkx,pjx->pkj", normals[pi], nj) > 0
        owned_by_j = coincident & same_way & (pj < pi)[:, None, None]
        best_lo = np.zeros_like(phi)
        best_hi = np.full_like(phi, -1.0)
        L = el[:, :, None]
        for shift in (-2 * np.pi, 0.0, 2 * np.pi):
            lo = np.maximum(0.0, phi - alpha + shift)
            hi = np.minimum(L, phi + alpha + shift)
            better = (hi - lo) > (best_hi - best_lo)
            best_lo = np.where(better, lo, best_lo)
            best_hi = np.where(better, hi, best_hi)
        best_lo = np.where(owned_by_j, 0.0, best_lo)
        best_hi = np.where(owned_by_j, L, np.where(coincident, -1.0, best_hi))
        lo = best_lo.max(axis=2)
        hi = best_hi.min(axis=2)
        ok = (hi > lo) & valid_edge[pi]
        p_idx, k_idx = np.nonzero(ok)
        grp_list.append(pi[p_idx] * m + k_idx)
        lo_list.append(lo[p_idx, k_idx])
        hi_list.append(hi[p_idx, k_idx])
    grp = np.concatenate(grp_list) if grp_list else np.empty(0, np.int64)
    clo = np.concatenate(lo_list) if lo_list else np.empty(0)
    chi = np.concatenate(hi_list) if hi_list else np.empty(0)

    # Exposed pieces of every edge = [0, L] minus the union of its covered intervals.
    flat_len = length.ravel()
    flat_valid = valid_edge.ravel()
    piece_edge, piece_t0, piece_t1 = [], [], []
    covered_edges = np.zeros(n * m, dtype=bool)
    if len(grp):
        order = np.lexsort((clo, grp))
        grp, clo, chi = grp[order], clo[order], chi[order]
        covered_edges[grp] = True
        run = _segmented_running_max(chi, grp)
        first = np.ones(len(grp), dtype=bool)
        first[1:] = grp[1:] != grp[:-1]
        prev_end = np.where(first, 0.0, np.concatenate([[0.0], run[:-1]]))
        gap = clo > prev_end
        piece_edge.append(grp[gap])
        piece_t0.append(prev_end[gap])
        piece_t1.append(clo[gap])
        last = np.ones(len(grp), dtype=bool)
        last[:-1] = grp[1:] != grp[:-1]
        tail = last & (run < flat_len[grp])
        piece_edge.append(grp[tail])
        piece_t0.append(run[tail])
        piece_t1.append(flat_len[grp[tail]])
    free = np.nonzero(flat_valid & ~covered_edges & (flat_len > 0))[0]
    piece_edge.append(free)
    piece_t0.append(np.zeros(len(free)))
    piece_t1.append(flat_len[free])
    pe = np.concatenate(piece_edge)
    t0 = np.concatenate(piece_t0)
    t1 = np.concatenate(piece_t1)
    keep = (t1 - t0) > 1e-15
    pe, t0, t1 = pe[keep], t0[keep], t1[keep]
    if len(pe) == 0:
        return 4.0 * np.pi  # no exposed boundary: the polygons cover the whole sphere
    fa = a.reshape(-1, 3)[pe]
    fu = u.reshape(-1, 3)[pe]
    p0 = np.cos(t0)[:, None] * fa + np.sin(t0)[:, None] * fu
    p1 = np.cos(t1)[:, None] * fa + np.sin(t1)[:, None] * fu
    ref = _reference_point(np.concatenate([p0, p1, geo.normalize(p0 + p1)]))
    total = float(np.sum(geo.triangle_signed_area(np.broadcast_to(ref, p0.shape), p0, p1)))
    area = total % (4.0 * np.pi)
    # A union that is a hair short of the whole sky can round to ~4π; one that is tiny to ~0.
    return area


def _segmented_running_max(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` that restarts where ``groups`` (sorted) changes.

    A log-step scan (Hillis-Steele), exact in floating point, unlike offsetting each group.
    """
    run = values.copy()
    step = 1
    n = len(run)
    while step < n:
        same = groups[step:] == groups[:-step]
        run[step:] = np.where(same, np.maximum(run[step:], run[:-step]), run[step:])
        step *= 2
    return run


def _reference_point(boundary_points: np.ndarray) -> np.ndarray:
    """A point whose antipode is far from every boundary point (keeps the triangles well-conditioned)."""
    k = np.arange(64) + 0.5
    z = 1.0 - 2.0 * k / 64
    phi = np.pi * (1.0 + 5 ** 0.5) * k
    cands = np.stack([np.sqrt(1 - z * z) * np.cos(phi), np.sqrt(1 - z * z) * np.sin(phi), z], axis=-1)
    sample = boundary_points
    if len(sample) > 20000:
        sample = sample[np.linspace(0, len(sample) - 1, 20000).astype(int)]
    # distance from the antipode -c to the boundary: maximise min over points of (1 + c.p)
    closeness = 1.0 + sample @ cands.T  # 0 when p == -c
    return cands[int(np.argmax(closeness.min(axis=0)))]


def union_area_deg2(polygons: Iterable) -> float:
    """Area (square degrees) of the union of convex spherical polygons.

    ``polygons`` is a list of ``(N, 2)`` RA/Dec vertex arrays (degrees), each in either order,
    edges along great circles (like sphgeom ``ConvexPolygon``, tract and patch regions). Exact
    up to rounding: overlaps are counted once, exact duplicates once, and abutting polygons add.
    """
    return union_area_sr(polygons) * geo.SQDEG_PER_SR
