"""A polygon place in a local flat frame, so containment tests are planar and antimeridian-safe."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from supplyline.geo import haversine_km

FloatArray = npt.NDArray[np.float64]


def wrap180(lon: npt.ArrayLike) -> FloatArray:
    """Longitudes (degrees) wrapped into [-180, 180)."""
    return np.asarray(np.mod(np.asarray(lon, dtype=np.float64) + 180.0, 360.0) - 180.0)


@dataclass(frozen=True)
class LocalFrame:
    """A polygon in an equirectangular frame (degrees of latitude, ~111 km) centred on its vertices.

    Longitudes are unwrapped around the circular mean of the vertices, so a polygon that crosses the
    antimeridian (even written as 179..-179, or split into two parts) becomes one contiguous shape.
    """

    lat0: float
    lon0: float
    coslat: float
    local: shapely.Geometry

    @classmethod
    def of(cls, geom: shapely.Geometry) -> LocalFrame:
        xy = shapely.get_coordinates(geom)
        lam = np.radians(xy[:, 0])
        lon0 = float(np.degrees(np.arctan2(np.sin(lam).mean(), np.cos(lam).mean())))
        lat0 = float(xy[:, 1].mean())
        coslat = max(float(np.cos(np.radians(lat0))), 1e-6)

        def fwd(c: FloatArray) -> FloatArray:
            return np.column_stack([wrap180(c[:, 0] - lon0) * coslat, c[:, 1] - lat0])

        local = shapely.make_valid(shapely.transform(geom, fwd))
        return cls(lat0, lon0, coslat, local)

    def project(self, lat: FloatArray, lon: FloatArray) -> tuple[FloatArray, FloatArray]:
        return wrap180(lon - self.lon0) * self.coslat, lat - self.lat0

    def centre(self) -> tuple[float, float]:
        c = shapely.centroid(self.local)
        return self.lat0 + float(c.y), float(wrap180(self.lon0 + float(c.x) / self.coslat))

    def bounding_radius_m(self) -> float:
        lat, lon = self.centre()
        xy = shapely.get_coordinates(self.local)
        vlat, vlon = xy[:, 1] + self.lat0, self.lon0 + xy[:, 0] / self.coslat
        return float(haversine_km(lat, lon, vlat, vlon).max() * 1000.0)
