"""Observation times and angles for the sample's visits: MJD to datetime, Rubin's day_obs, sidereal angles.

Approximations good to the sample's needs (metadata cards and airmasses that look right), not an
ephemeris: GMST and the Earth rotation angle from their IAU linear formulas, TAI taken as UTC.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np


def mjd_to_datetime(mjd: float) -> datetime:
    """The UTC datetime of a modified Julian date."""
    return datetime(1858, 11, 17, tzinfo=timezone.utc) + timedelta(days=mjd)


def day_obs(mjd_tai: float) -> int:
    """Rubin's ``day_obs`` (YYYYMMDD) of a TAI MJD."""
    # Rubin day_obs: the date in the UTC-12h time zone (TAI-UTC offset is irrelevant here).
    d = mjd_to_datetime(mjd_tai - 0.5)
    return int(d.strftime("%Y%m%d"))


def gmst_deg(mjd_ut1: float) -> float:
    """Greenwich mean sidereal time (degrees) at a UT1 MJD."""
    d = mjd_ut1 - 51544.5
    return (280.46061837 + 360.98564736629 * d) % 360.0


def era_deg(mjd_ut1: float) -> float:
    """Earth rotation angle (degrees) at a UT1 MJD."""
    d = mjd_ut1 - 51544.5
    return (360.0 * (0.7790572732640 + 1.00273781191135448 * d)) % 360.0


def alt_az(ha_deg: float, dec: float, lat: float) -> tuple[float, float]:
    """(altitude, azimuth) in degrees of an hour angle and declination seen from latitude ``lat``."""
    h, d, p = np.radians(ha_deg), np.radians(dec), np.radians(lat)
    sin_alt = np.sin(d) * np.sin(p) + np.cos(d) * np.cos(p) * np.cos(h)
    alt = np.arcsin(sin_alt)
    az = np.arctan2(-np.cos(d) * np.sin(h), np.sin(d) * np.cos(p) - np.cos(d) * np.sin(p) * np.cos(h))
    return float(np.degrees(alt)), float(np.degrees(az) % 360.0)
