"""Population loaders and boundaries: counts, leading zeros, vintage mismatches kept."""

from __future__ import annotations

import pytest

from geo.errors import ValidationError
from geo.population import (
    POPULATION_COLUMNS,
    join_county_shapes,
    load_boundaries,
    load_counties,
    load_population,
    load_zctas,
)


def test_counties() -> None:
    c = load_counties()
    assert len(c) == 3221
    assert c["population"].sum() == 334_735_155  # 2020 Census: 50 states + DC + Puerto Rico
    assert list(c.columns) == [*POPULATION_COLUMNS, "geometry"]
    assert c.crs.to_epsg() == 4326
    autauga = c.set_index("unit_id").loc["01001"]
    assert autauga["name"] == "Autauga, Alabama" and autauga["state"] == "AL"
    assert autauga["population"] == 58_805
    assert autauga.geometry.x == pytest.approx(-86.487813) and autauga.geometry.y == pytest.approx(
        32.500194
    )
    assert c["unit_id"].is_unique and (c["state"] != "").all()


def test_zctas_keep_leading_zeros() -> None:
    z = load_zctas()
    assert len(z) == 33_791
    assert z["population"].sum() == 335_555_510
    first = z.iloc[0]
    assert (
        first["unit_id"] == "00601" and first["state"] == "PR" and first["county_fips"] == "72001"
    )
    assert first["population"] == 16_721
    assert z["unit_id"].str.len().eq(5).all() and z["unit_id"].is_unique
    assert (z["state"] != "").all()
    assert z.set_index("unit_id").loc["10001", "state"] == "NY"


def test_load_population_dispatch() -> None:
    assert len(load_population("county")) == 3221
    with pytest.raises(ValidationError, match="zcta"):
        load_population("tract")  # type: ignore[arg-type]


def test_boundaries() -> None:
    states = load_boundaries("states")
    assert len(states) == 56 and states.crs.to_epsg() == 4326
    assert set(states["state"]) >= {"CA", "NY", "PR", "DC"}
    counties = load_boundaries("counties")
    assert len(counties) == 3231
    assert "02261" in set(counties["id"])  # 2017 vintage: Valdez-Cordova still one area


def test_county_shapes_keep_every_person() -> None:
    pop = load_counties()
    joined = join_county_shapes(pop)
    frame = joined.frame
    assert len(frame) == len(pop) and frame["population"].sum() == pop["population"].sum()
    # Alaska's 2019 split (Chugach 02063, Copper River 02066) has no 2017 shape: kept as points.
    assert joined.units_without_shape == ("02063", "02066")
    assert joined.population_without_shape == int(
        pop.set_index("unit_id").loc[["02063", "02066"], "population"].sum()
    )
    assert set(frame.loc[~frame["has_shape"]].geom_type) == {"Point"}
    assert set(frame.loc[frame["has_shape"]].geom_type) <= {"Polygon", "MultiPolygon"}
    # Shapes without population: the old Valdez-Cordova and island areas with no 2020 rows.
    assert "02261" in joined.shapes_without_population
    # Connecticut: 2020 population uses the eight old counties, as do the 2017 shapes.
    ct = frame[frame["state"] == "CT"]
    assert len(ct) == 8 and ct["has_shape"].all()
    assert "Chugach" in joined.summary()
