"""Population points and boundaries for coverage studies.

Two population tables ship in ``data/population`` (U.S. Census Bureau, 2020, public domain):

* ``county`` — 2020 centres of population by county (3,221 rows: 50 states, DC, Puerto Rico);
* ``zcta``   — ZIP code tabulation areas with population and an internal point (33,791 rows).

Both load as a GeoDataFrame of points (EPSG:4326) with the columns of :data:`POPULATION_COLUMNS`.
Population counts always come from these files; boundaries (``data/boundaries``, us-atlas 3.0.1,
Census cartographic boundaries of 2017) only add shapes. The two vintages do not match exactly:

* Alaska: the 2020 files have Chugach (02063) and Copper River (02066); us-atlas still has their
  predecessor Valdez-Cordova (02261). Both 2020 units keep their population and point and are
  reported as having no shape.
* Connecticut: the 2020 files still use the eight old counties (09001–09015), as do the 2017
  shapes; the planning regions (09110–09190) arrived in the 2022 files. Code that receives
  planning-region codes is told so (no shape) rather than losing people.
* us-atlas also has island areas (American Samoa, Guam, Northern Mariana Islands, U.S. Virgin
  Islands) with no population rows; they are simply not population units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import ValidationError
from geo.settings import Settings, get_settings

PopulationKind = Literal["zcta", "county"]

POPULATION_COLUMNS = ["unit_id", "name", "state", "state_fips", "county_fips", "population"]
"""Columns of a population frame (then ``geometry``): ``unit_id`` is the county FIPS code (5
digits) or the ZCTA (5 digits, leading zeros kept); ``state`` the two-letter USPS code;
``population`` an integer count."""

COUNTY_FILE = "population/CenPop2020_Mean_CO.txt"
ZCTA_FILE = "population/zcta_2020.csv"
COUNTIES_TOPOJSON = "boundaries/counties-10m.json"
STATES_TOPOJSON = "boundaries/states-10m.json"

STATE_FIPS: dict[str, str] = {
    "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT",
    "10": "DE", "11": "DC", "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL",
    "18": "IN", "19": "IA", "20": "KS", "21": "KY", "22": "LA", "23": "ME", "24": "MD",
    "25": "MA", "26": "MI", "27": "MN", "28": "MS", "29": "MO", "30": "MT", "31": "NE",
    "32": "NV", "33": "NH", "34": "NJ", "35": "NM", "36": "NY", "37": "NC", "38": "ND",
    "39": "OH", "40": "OK", "41": "OR", "42": "PA", "44": "RI", "45": "SC", "46": "SD",
    "47": "TN", "48": "TX", "49": "UT", "50": "VT", "51": "VA", "53": "WA", "54": "WV",
    "55": "WI", "56": "WY", "60": "AS", "66": "GU", "69": "MP", "72": "PR", "78": "VI",
}  # fmt: skip
"""State FIPS code → USPS abbreviation (states, DC and territories)."""

CONTIGUOUS_EXCLUDED = ("AK", "HI", "PR", "AS", "GU", "MP", "VI")
"""States/territories outside the contiguous U.S. (the 48 states and DC)."""

VINTAGE_NOTES: dict[str, str] = {
    "02063": "Chugach Census Area (2019+); the 2017 shapes have Valdez-Cordova 02261",
    "02066": "Copper River Census Area (2019+); the 2017 shapes have Valdez-Cordova 02261",
}
"""Known 2020 county codes without a 2017 shape, and why."""


def _data_path(relative: str, settings: Settings | None) -> Path:
    path = (settings or get_settings()).data_dir / relative
    if not path.exists():
        raise ValidationError(
            f"population/boundary file missing: {path}; the data/ folder of the checkout must be "
            "present (or set TRIALREACH_DATA_DIR)"
        )
    return path


def _points(lon: pd.Series, lat: pd.Series) -> gpd.GeoSeries:
    return gpd.GeoSeries(
        gpd.points_from_xy(lon.to_numpy(float), lat.to_numpy(float)), crs="EPSG:4326"
    )


def load_counties(settings: Settings | None = None) -> gpd.GeoDataFrame:
    """2020 county centres of population (3,221 rows) as points, with population.

    ``name`` is "County, State"; the point is the Census Bureau's mean centre of population.
    """
    path = _data_path(COUNTY_FILE, settings)
    raw = pd.read_csv(path, dtype=str, encoding="latin-1")
    state_fips = raw["STATEFP"].str.zfill(2)
    county_fips = state_fips + raw["COUNTYFP"].str.zfill(3)
    frame = pd.DataFrame(
        {
            "unit_id": county_fips,
            "name": raw["COUNAME"] + ", " + raw["STNAME"],
            "state": state_fips.map(STATE_FIPS).fillna(""),
            "state_fips": state_fips,
            "county_fips": county_fips,
            "population": pd.to_numeric(raw["POPULATION"]).astype("int64"),
        }
    )
    geometry = _points(pd.to_numeric(raw["LONGITUDE"]), pd.to_numeric(raw["LATITUDE"]))
    gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
    gdf.attrs["source"] = "U.S. Census Bureau, 2020 centres of population by county"
    return gdf


def load_zctas(settings: Settings | None = None) -> gpd.GeoDataFrame:
    """2020 ZIP code tabulation areas (33,791 rows) as internal points, with population.

    ``state`` and ``county_fips`` come from the ZCTA's primary county (a ZCTA can straddle
    counties and states; all of its population is counted in its primary county's state).
    """
    path = _data_path(ZCTA_FILE, settings)
    raw = pd.read_csv(path, dtype=str)
    county = raw["Primary County"].str.zfill(5)
    state_fips = county.str[:2]
    zcta = raw["ZCTA5"].str.zfill(5)
    frame = pd.DataFrame(
        {
            "unit_id": zcta,
            "name": "ZCTA " + zcta,
            "state": state_fips.map(STATE_FIPS).fillna(""),
            "state_fips": state_fips,
            "county_fips": county,
            "population": pd.to_numeric(raw["Population"]).astype("int64"),
        }
    )
    geometry = _points(pd.to_numeric(raw["Longitude"]), pd.to_numeric(raw["Latitude"]))
    gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
    gdf.attrs["source"] = "U.S. Census Bureau, 2020 ZCTAs (population, internal point)"
    return gdf


def load_population(kind: PopulationKind, settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Population points by ``kind``: ``"zcta"`` or ``"county"``."""
    if kind == "zcta":
        return load_zctas(settings)
    if kind == "county":
        return load_counties(settings)
    raise ValidationError(
        f"unknown population {kind!r}; choose 'zcta' or 'county' (or pass a GeoDataFrame)"
    )


def load_boundaries(
    layer: Literal["counties", "states"], settings: Settings | None = None
) -> gpd.GeoDataFrame:
    """County or state polygons (us-atlas 3.0.1, 2017 Census cartographic boundaries).

    Columns ``id`` (FIPS: 5 digits for counties, 2 for states), ``name``, ``state`` (USPS) and
    ``geometry``; EPSG:4326.
    """
    if layer not in ("counties", "states"):
        raise ValidationError(f"unknown boundary layer {layer!r}; choose 'counties' or 'states'")
    rel = COUNTIES_TOPOJSON if layer == "counties" else STATES_TOPOJSON
    gdf = gpd.read_file(_data_path(rel, settings), layer=layer)
    gdf = gdf.set_crs("EPSG:4326", allow_override=True)
    gdf["id"] = gdf["id"].astype(str).str.zfill(5 if layer == "counties" else 2)
    gdf["state"] = gdf["id"].str[:2].map(STATE_FIPS).fillna("")
    return gdf[["id", "name", "state", "geometry"]]


@dataclass(frozen=True)
class ShapeJoin:
    """Population units joined with boundary polygons.

    ``frame`` has every input unit (same order and index) with its polygon as the active geometry
    where one matched, else its point; ``has_shape`` tells which. Population is untouched.
    """

    frame: gpd.GeoDataFrame
    units_without_shape: tuple[str, ...]
    population_without_shape: int
    shapes_without_population: tuple[str, ...]

    def summary(self) -> str:
        text = (
            f"{len(self.frame) - len(self.units_without_shape):,} of {len(self.frame):,} units "
            "matched a boundary"
        )
        if self.units_without_shape:
            notes = [VINTAGE_NOTES.get(u, "no 2017 shape") for u in self.units_without_shape[:5]]
            text += (
                f"; {len(self.units_without_shape)} kept as points "
                f"({self.population_without_shape:,} people): "
                + "; ".join(
                    f"{u} {n}" for u, n in zip(self.units_without_shape, notes, strict=False)
                )
            )
        return text


def join_county_shapes(population: gpd.GeoDataFrame, settings: Settings | None = None) -> ShapeJoin:
    """Add county polygons to county population units (matched on ``unit_id``/FIPS).

    Units without a shape (vintage mismatches such as Alaska 02063/02066) keep their point and
    are listed; no unit and no person is dropped.
    """
    shapes = load_boundaries("counties", settings)
    by_id = shapes.drop_duplicates("id").set_index("id").geometry
    ids = population["unit_id"].astype(str)
    matched = ids.map(by_id)
    has_shape = matched.notna().to_numpy()
    geometry = np.where(has_shape, matched.to_numpy(object), population.geometry.to_numpy(object))
    frame = population.copy()
    frame["has_shape"] = has_shape
    frame = frame.set_geometry(gpd.GeoSeries(list(geometry), index=frame.index, crs="EPSG:4326"))
    missing = tuple(ids[~has_shape].tolist())
    return ShapeJoin(
        frame=frame,
        units_without_shape=missing,
        population_without_shape=int(population.loc[~has_shape, "population"].sum()),
        shapes_without_population=tuple(sorted(set(by_id.index) - set(ids))),
    )
