"""An exposure's plane at screen resolution: the stretch limits (computed once per file and plane,
in the shared bounded :data:`~explorer.render.stretch.LIMITS`) and the rendered frame."""
from __future__ import annotations

from typing import Optional, Sequence

from ..repo.model import Exposure
from .raster import Frame, render_plane
from .stretch import LIMITS, Limits, compute_limits

# planes whose pixels must not set the stretch (no data, saturated, bad)
LIMIT_EXCLUDED_PLANES = ("NO_DATA", "SAT", "BAD", "SATURATED")


def plane_limits(exposure: Exposure, plane: str) -> Limits:
    """Full-frame stretch limits of a plane, computed once per file and plane."""
    from ..repo.cache import file_key

    def compute() -> Limits:
        arr = exposure.plane(plane)
        exclude_bits = None
        mask = exposure.mask
        if mask is not None and plane != "mask":
            bad = 0
            for name in LIMIT_EXCLUDED_PLANES:
                if name in exposure.info.mask_planes:
                    bad |= 1 << exposure.info.mask_planes[name]
            exclude_bits = (mask, bad) if bad else None
        return compute_limits(arr, exclude_bits=exclude_bits)

    try:  # a remote exposure's identity: its mirror, partitioned by token (explorer/repo/http.py)
        ident = getattr(exposure, "identity", None)
        key = ident + ("limits", plane) if ident else file_key(exposure.info.path, "limits", plane)
    except OSError:
        key = (exposure.info.path, "limits", plane)
    return LIMITS.get(key, compute)


def render_exposure(exposure: Exposure, plane: str, stretch: str, cmap: str, shown_masks: Sequence[str],
                    mask_alpha: float, width: int = 800, height: int = 800,
                    x_range: Optional[Sequence[float]] = None,
                    y_range: Optional[Sequence[float]] = None,
                    value_range: Optional[tuple[float, float]] = None) -> Frame:
    """One plane (the image when the exposure lacks it) rendered at screen size, masks over it.
    ``value_range``: the (low, high) data values to map to black and white instead of the
    stretch's own limits (the colour bar's limits choice)."""
    plane = plane if plane in exposure.info.planes else "image"
    planes = {plane: exposure.plane(plane)}
    if exposure.mask is not None:
        planes["mask"] = exposure.mask
    limits = None if plane == "mask" else plane_limits(exposure, plane)
    if limits is not None and value_range is not None:
        from .display_limits import with_range

        limits = with_range(limits, stretch, *value_range)
    return render_plane(planes, exposure.info.xy0, plane, limits, stretch, exposure.info.mask_planes,
                        list(shown_masks), mask_alpha, x_range, y_range, width, height, cmap,
                        binned=exposure.binned)
