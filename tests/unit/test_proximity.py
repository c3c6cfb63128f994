"""Verdicts for many places: order, index, honesty rules, vectorised nearest site."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point

from geo.places import locate_places
from geo.proximity import check, headline, rank_sites
from geo.routing import EstimateRouter
from geo.routing.base import NearestResult, Router, as_lonlat_array
from geo.rules import get_rule
from geo.types import DriveTimeMatrix, EngineInfo, LonLat
from geo.wording import format_minutes

RULE = get_rule("resolution")


class LineRouter(Router):
    """A fake engine on a straight road along the equator: 1° of longitude = 60 min."""

    name = "line"

    def __init__(
        self, edge_beyond_lon: float | None = None, unreachable_beyond: float | None = None
    ):
        self.edge_beyond_lon = edge_beyond_lon
        self.unreachable_beyond = unreachable_beyond

    @property
    def info(self):
        return EngineInfo(name="line", data="test road")

    def drive_times(self, origins, destinations):
        o, d = as_lonlat_array(origins), as_lonlat_array(destinations)
        minutes = np.abs(o[:, None, 0] - d[None, :, 0]) * 60
        seconds = minutes * 60
        if self.unreachable_beyond is not None:
            seconds[o[:, 0] > self.unreachable_beyond, :] = np.nan
        edge = None
        if self.edge_beyond_lon is not None:
            edge = np.repeat((o[:, 0] > self.edge_beyond_lon)[:, None], d.shape[0], axis=1)
        return DriveTimeMatrix(seconds, seconds * 20, self.info, edge)

    def isochrones(self, points, minutes):
        raise NotImplementedError

    def route(self, origin, destination):
        raise NotImplementedError


SITES = gpd.GeoDataFrame(
    {"site_id": ["A", "B"], "name": ["Site A", "Site B"]},
    geometry=[Point(0, 0), Point(10, 0)],
    crs="EPSG:4326",
)


def places(lons, index=None):
    return gpd.GeoDataFrame(geometry=[Point(x, 0) for x in lons], index=index, crs="EPSG:4326")


def test_nearest_site_time_spare_and_verdict_by_hand():
    out = check(places([1.0, 1.9, 2.0, 2.5, 9.5]), SITES, RULE, LineRouter())
    assert list(out["nearest_site_id"]) == ["A", "A", "A", "A", "B"]
    assert list(out["drive_min"]) == [60.0, 114.0, 120.0, 150.0, 30.0]
    assert list(out["spare_min"]) == [60.0, 6.0, 0.0, -30.0, 90.0]
    assert list(out["verdict"]) == ["within", "borderline", "borderline", "outside", "within"]
    assert set(out["basis"]) == {"routed drive time"}
    assert set(out["engine"]) == {"line · test road"}


def test_callers_index_and_order_kept():
    out = check(places([9.5, 1.0], index=["hotel-9", "hotel-1"]), SITES, RULE, LineRouter())
    assert list(out.index) == ["hotel-9", "hotel-1"]
    assert list(out["drive_min"]) == [30.0, 60.0]


def test_data_edge_makes_outside_unknown_but_keeps_within():
    out = check(places([1.0, 3.0, 2.6]), SITES, RULE, LineRouter(edge_beyond_lon=1.5))
    # 60 min near the edge: a routed time is an upper bound, so `within` stands, with a note.
    # 180 min near the edge: a shortcut beyond the data could exist, so not a false `outside`.
    assert list(out["verdict"]) == ["within", "unknown", "unknown"]
    assert "road data ends" in out["reason"].iloc[1]
    assert out["drive_min"].iloc[1] == 180.0  # the time is still shown
    near = check(places([1.9]), SITES, RULE, LineRouter(edge_beyond_lon=1.5))
    assert near["verdict"].iloc[0] == "borderline"
    assert "could only make this drive shorter" in near["reason"].iloc[0]


def test_no_route_is_unknown():
    out = check(places([1.0, 4.0]), SITES, RULE, LineRouter(unreachable_beyond=3))
    assert list(out["verdict"]) == ["within", "unknown"]
    assert out["reason"].iloc[1] == "no road route found to any site"
    assert np.isnan(out["drive_min"].iloc[1])


def test_zip_centroid_cannot_make_a_confident_within():
    located = places([1.0, 1.7, 1.7])
    located["precision"] = ["zip", "zip", "coordinates"]
    out = check(located, SITES, RULE, LineRouter())
    # 60 min: 60 spare ≥ 10 + 10 → within; 102 min: 18 spare < 20 → borderline for a ZIP centroid
    assert list(out["verdict"]) == ["within", "borderline", "within"]
    assert "ZIP centroid" in out["reason"].iloc[1]


def test_city_centre_site_points_are_not_trusted_for_a_confident_within():
    sites = SITES.assign(coord_precision=["city", ""])
    out = check(places([1.6, 1.0, 9.5]), sites, RULE, LineRouter())
    # 96 min to a city-centre site: 24 spare < 10 + 20 → borderline; 60 min: 60 spare → within;
    # 30 min to site B (exact point) → within.
    assert list(out["verdict"]) == ["borderline", "within", "within"]
    assert "city centre" in out["reason"].iloc[0]


def test_bad_rows_keep_their_message_and_none_are_dropped():
    table = pd.DataFrame({"lat": ["0", "", "95", "zero", "0"], "lon": ["1", "", "1", "1", "9.5"]})
    located = locate_places(table, geocoder=None)
    out = check(located, SITES, RULE, LineRouter())
    assert len(out) == 5
    assert list(out["verdict"]) == ["within", "unknown", "unknown", "unknown", "within"]
    assert out["reason"].iloc[1] == "row 2: empty — no address and no coordinates"
    # 95 is out of range; swapped (lat 1, lon 95) it would not be in the U.S., so not "swapped"
    assert out["reason"].iloc[2] == "row 3: coordinates out of range (lat 95.0, lon 1.0)"
    assert out["reason"].iloc[3] == "row 4: lat 'zero' is not a number"


def test_screened_bounds_give_bands():
    class Screening(LineRouter):
        def nearest(self, origins, destinations, horizon_s=None):
            n = len(origins)
            return NearestResult(
                index=np.zeros(n, dtype=np.int64),
                duration_s=np.array([np.nan, np.nan, 7000.0]),
                lower_s=np.array([0.0, 9000.0, 7000.0]),
                upper_s=np.array([6300.0, np.inf, 7000.0]),
                distance_m=np.full(n, np.nan),
                engine=self.info,
                edge_warning=np.zeros(n, dtype=bool),
                method=np.array(["screened", "screened", "routed"]),
            )

    out = check(places([1, 2, 3]), SITES, RULE, Screening())
    assert list(out["verdict"]) == ["within", "outside", "borderline"]
    assert out["basis"].iloc[0] == "well inside: under 1 h 45 min"
    assert out["basis"].iloc[1] == "well outside: over 2 h 30 min"


def test_estimate_engine_checks_100k_places_vectorised():
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(-100, -80, 100_000), rng.uniform(30, 45, 100_000)])
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2"], "name": ["One", "Two"]},
        geometry=[Point(-92.47, 44.02), Point(-84.5, 39.1)],
        crs="EPSG:4326",
    )
    out = check(pts, sites, RULE, EstimateRouter())
    assert len(out) == 100_000
    assert set(out["verdict"]) <= {"within", "borderline", "outside"}
    assert set(out["basis"]) == {"estimate from straight-line distance"}


def test_rank_sites_orders_by_drive_time():
    ranked = rank_sites(LonLat(9.0, 0.0), SITES, LineRouter(), RULE)
    assert list(ranked["site_id"]) == ["B", "A"]
    assert list(ranked["drive_min"]) == [60.0, 540.0]
    assert list(ranked["verdict"]) == ["within", "outside"]


def test_headline_reads_at_a_glance():
    out = check(places([1.0 + 107 / 60 - 1.0]), SITES, RULE, LineRouter())
    assert (
        headline(out.iloc[0], RULE)
        == "WITHIN — 1 h 47 min to Site A, 13 min to spare · line · test road"
    )


@pytest.mark.parametrize(
    ("minutes", "text"), [(107, "1 h 47 min"), (45, "45 min"), (60, "1 h 00 min"), (np.nan, "—")]
)
def test_format_minutes(minutes, text):
    assert format_minutes(minutes) == text
