"""Distances on the Earth from positions."""
from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius


def step_lengths_m(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Haversine length of each step between consecutive valid positions (NaN-free input)."""
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    dlat = np.diff(lat)
    dlon = np.diff(lon)
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dlon / 2) ** 2
    step_m: np.ndarray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return step_m


def path_length_m(lat_deg: np.ndarray, lon_deg: np.ndarray) -> float:
    ok = np.isfinite(lat_deg) & np.isfinite(lon_deg)
    if ok.sum() < 2:
        return 0.0
    return float(step_lengths_m(lat_deg[ok], lon_deg[ok]).sum())
