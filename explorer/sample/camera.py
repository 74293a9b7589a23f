"""LSSTCam-imSim as DC2 saw it: the 189 science detectors and where they sit in the focal plane.

Names and integer ids follow obs_lsst: 21 science rafts (the 5x5 raft grid without the four corner
rafts R00, R04, R40, R44), each with 3x3 sensors S00..S22; ids run raft by raft in name order
(R01_S00 = 0, ..., R11_S20 = 42, ..., R43_S22 = 188), as the obs_lsst imsim Gen3 test registry shows.

The geometry is the nominal LSSTCam layout: raft pitch 127 mm, sensor pitch 42.25 mm inside a raft,
10 micron pixels, 4072 x 4000 pixel sensors, a plate scale of 0.2 arcsec per pixel. Raft ``Rrc`` and
sensor ``Src`` are indexed row (focal-plane y) then column (focal-plane x), R22_S11 at the centre.
"""
from __future__ import annotations

from dataclasses import dataclass

INSTRUMENT = "LSSTCam-imSim"
INSTRUMENT_CLASS = "lsst.obs.lsst.LsstCamImSim"
BANDS = ("u", "g", "r", "i", "z", "y")
PHYSICAL_FILTERS = {band: f"{band}_sim_1.4" for band in BANDS}

PIXEL_SIZE_MM = 0.010
PIXEL_SCALE_ARCSEC = 0.2
DETECTOR_NX = 4072
DETECTOR_NY = 4000
RAFT_PITCH_MM = 127.0
SENSOR_PITCH_MM = 42.25
CORNER_RAFTS = ("R00", "R04", "R40", "R44")
GAIN = 1.7  # electrons per ADU, one value for all amplifiers (imSim-like)
READ_NOISE_E = 6.0
SATURATION_ADU = 100_000.0 / GAIN  # raw level at which a pixel saturates


@dataclass(frozen=True)
class DetectorGeom:
    """One science detector: registry names plus its centre in the focal plane (mm)."""

    id: int
    full_name: str  # e.g. "R22_S11"
    raft: str  # "R22"
    name_in_raft: str  # "S11"
    serial: str
    fp_x_mm: float
    fp_y_mm: float
    nx: int = DETECTOR_NX
    ny: int = DETECTOR_NY

    @property
    def purpose(self) -> str:
        return "SCIENCE"

    @property
    def center_fp_pixels(self) -> tuple[float, float]:
        """Centre of the detector in focal-plane pixel units (boresight at 0, 0)."""
        return self.fp_x_mm / PIXEL_SIZE_MM, self.fp_y_mm / PIXEL_SIZE_MM

    def pixel_to_fp(self, x, y):
        """Detector pixel (0-based) -> focal-plane pixel units. Works on numpy arrays."""
        cx, cy = self.center_fp_pixels
        return x - (self.nx - 1) / 2.0 + cx, y - (self.ny - 1) / 2.0 + cy

    def fp_to_pixel(self, u, v):
        """Focal-plane pixel units -> detector pixel (0-based). Works on numpy arrays."""
        cx, cy = self.center_fp_pixels
        return u - cx + (self.nx - 1) / 2.0, v - cy + (self.ny - 1) / 2.0


def _build_detectors() -> tuple[DetectorGeom, ...]:
    dets = []
    det_id = 0
    for rr in range(5):
        for rc in range(5):
            raft = f"R{rr}{rc}"
            if raft in CORNER_RAFTS:
                continue
            for sr in range(3):
                for sc in range(3):
                    sensor = f"S{sr}{sc}"
                    x = (rc - 2) * RAFT_PITCH_MM + (sc - 1) * SENSOR_PITCH_MM
                    y = (rr - 2) * RAFT_PITCH_MM + (sr - 1) * SENSOR_PITCH_MM
                    # imSim sensors carry vendor serials; ITL for even rafts, e2v for odd, as a label.
                    vendor = "ITL" if (rr + rc) % 2 == 0 else "E2V"
                    serial = f"{vendor}-3800C-{100 + det_id:03d}"
                    dets.append(DetectorGeom(det_id, f"{raft}_{sensor}", raft, sensor, serial, x, y))
                    det_id += 1
    return tuple(dets)


DETECTORS: tuple[DetectorGeom, ...] = _build_detectors()
DETECTOR_BY_ID = {d.id: d for d in DETECTORS}
DETECTOR_BY_NAME = {d.full_name: d for d in DETECTORS}


def detector_at_fp(u, v):
    """Detector id under focal-plane pixel coordinates (arrays), -1 in chip gaps / off the camera.

    Vectorised: used to assign every true object of a visit to the detector that sees it.
    """
    import numpy as np

    u = np.asarray(u, dtype=float)
    v = np.asarray(v, dtype=float)
    pitch_r = RAFT_PITCH_MM / PIXEL_SIZE_MM
    pitch_s = SENSOR_PITCH_MM / PIXEL_SIZE_MM
    rc = np.floor(u / pitch_r + 2.5).astype(int)
    rr = np.floor(v / pitch_r + 2.5).astype(int)
    du = u - (rc - 2) * pitch_r
    dv = v - (rr - 2) * pitch_r
    sc = np.floor(du / pitch_s + 1.5).astype(int)
    sr = np.floor(dv / pitch_s + 1.5).astype(int)
    lx = du - (sc - 1) * pitch_s + (DETECTOR_NX - 1) / 2.0
    ly = dv - (sr - 1) * pitch_s + (DETECTOR_NY - 1) / 2.0
    ok = ((rc >= 0) & (rc < 5) & (rr >= 0) & (rr < 5) & (sc >= 0) & (sc < 3) & (sr >= 0) & (sr < 3)
          & (lx >= -0.5) & (lx < DETECTOR_NX - 0.5) & (ly >= -0.5) & (ly < DETECTOR_NY - 0.5))
    corner = ((rr == 0) | (rr == 4)) & ((rc == 0) | (rc == 4))
    ok &= ~corner
    table = np.full((5, 5, 3, 3), -1, dtype=np.int64)
    for d in DETECTORS:
        table[int(d.raft[1]), int(d.raft[2]), int(d.name_in_raft[1]), int(d.name_in_raft[2])] = d.id
    out = np.full(u.shape, -1, dtype=np.int64)
    out[ok] = table[rr[ok], rc[ok], sr[ok], sc[ok]]
    return out
