"""Ranking studies by drive time: checked against single routes, hand counts and the rules."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pytest

from geo.geodesy import haversine_km
from geo.proximity import EDGE_NOTE, EDGE_REASON
from geo.routing import EstimateRouter
from geo.routing.base import MAX_PLAUSIBLE_SPEED_KMH, Points
from geo.rules import PRESETS, custom_rule
from geo.types import DriveTimeMatrix, EngineInfo, LonLat, Route
from sites.trials import STUDY_COLUMNS, chosen_limit, rank_trials, study_phase, trial_url

from .stub_trials import STUDIES, matching

ZIP_55902 = LonLat(-92.4835, 44.0032)  # the offline geocoder's centroid of 55902 (Rochester, MN)


def _nct(study: dict[str, Any]) -> str:
    return str(study["protocolSection"]["identificationModule"]["nctId"])


class CountingRouter(EstimateRouter):
    """The estimate engine, recording every drive_times call; optional data-edge flags."""

    def __init__(self, edge_cols: Sequence[int] = (), nan_cols: Sequence[int] = ()) -> None:
        super().__init__()
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []
        self.edge_cols, self.nan_cols = list(edge_cols), list(nan_cols)

    def drive_times(self, origins: Points, destinations: Points) -> DriveTimeMatrix:
        o, d = np.asarray(origins, dtype=float), np.asarray(destinations, dtype=float)
        self.calls.append((o, d))
        m = super().drive_times(o, d)
        dur = m.duration_s.copy()
        dur[:, self.nan_cols] = np.nan
        edge = np.zeros(dur.shape, dtype=bool)
        edge[:, self.edge_cols] = True
        return DriveTimeMatrix(dur, m.distance_m, m.engine, edge)


@pytest.fixture
def found() -> list[dict[str, Any]]:
    from sites.trials import search_params
    from sites.trials.search import TrialQuery

    return matching(search_params(TrialQuery(condition="lupus"), ZIP_55902))


def test_studies_ranked_by_drive_time_with_verdicts(found: list[dict[str, Any]]) -> None:
    router = CountingRouter()
    ranking = rank_trials(found, ZIP_55902, router, place_precision="zip")
    s = ranking.studies
    assert list(s.columns) == STUDY_COLUMNS
    assert list(s["nct_id"]) == [
        "NCT07085104",  # Mayo Clinic, Rochester: minutes away
        "NCT90000007",  # Olmsted Medical Center, Rochester (same city point; NCT order)
        "NCT90000001",  # La Crosse (its Rochester site WITHDREW: not counted)
        "NCT90000004",  # Eau Claire (Winnipeg and Toronto are far)
        "NCT90000003",  # Minneapolis
        "NCT90000002",  # Iowa City: over the limit
        "NCT90000006",  # its only site withdrew
    ]
    assert list(s["verdict"]) == [
        "within", "within", "borderline", "borderline", "borderline", "outside", "unknown",
    ]  # fmt: skip
    assert list(s["rank"]) == list(range(1, 8))
    # Within the limit first, by drive time; then the rest.
    inside = s[s["verdict"].isin(["within", "borderline"])]
    assert inside["drive_min"].is_monotonic_increasing
    assert s.loc[s["nct_id"] == "NCT90000001", "nearest_site"].item() == (
        "Gundersen Lutheran Medical Center"
    )
    assert s.loc[s["nct_id"] == "NCT90000006", "reason"].item().startswith("no open site")
    assert all(u == trial_url(n) for u, n in zip(s["url"], s["nct_id"], strict=True))
    assert trial_url("NCT07085104") == "https://clinicaltrials.gov/study/NCT07085104"
    # One routing call, from the place to every site within reach (place -> site), each
    # distinct point once (sites in one city share the registry's city-centre point).
    assert len(router.calls) == 1
    origins, targets = router.calls[0]
    assert origins.tolist() == [[ZIP_55902.lon, ZIP_55902.lat]]
    open_located = ranking.sites[ranking.sites["checked"] & ranking.sites["lat"].notna()]
    reach_km = 120 / 60 * MAX_PLAUSIBLE_SPEED_KMH + 15 + 10
    in_reach = open_located[open_located["straight_km"] <= reach_km]
    assert len(in_reach) == 9
    assert sorted(map(tuple, targets.tolist())) == sorted(
        set(zip(in_reach["lon"].round(6), in_reach["lat"].round(6), strict=True))
    )
    assert len(targets) == 6  # Rochester (x3) and Minneapolis (x2) are one point each


def test_drive_times_match_single_routes_and_counts_match_a_hand_count(
    found: list[dict[str, Any]],
) -> None:
    router = EstimateRouter()
    ranking = rank_trials(found, ZIP_55902, router, place_precision="zip")
    sites = ranking.sites
    for _, row in ranking.studies.iterrows():
        mine = sites[(sites["nct_id"] == row["nct_id"]) & sites["checked"]]
        located = mine[mine["lat"].notna()]
        # Independent reference: one route per site (the engine's single route).
        minutes = np.array(
            [
                router.route(ZIP_55902, LonLat(float(r.lon), float(r.lat))).duration_s / 60
                for r in located.itertuples()
            ]
        )
        assert row["sites_within_limit"] == int((minutes <= row["limit_min"]).sum())
        assert row["sites_checked"] == len(mine)
        if np.isfinite(row["drive_min"]):
            assert row["drive_min"] == pytest.approx(minutes.min(), abs=0.06)
    mayo = ranking.studies.iloc[0]
    assert (mayo["nearest_site"], mayo["nearest_city"], mayo["nearest_state"]) == (
        "Mayo Clinic",
        "Rochester",
        "MN",
    )
    assert mayo["spare_min"] == pytest.approx(120 - mayo["drive_min"], abs=0.06)


def test_rules_are_recognised_and_said(found: list[dict[str, Any]]) -> None:
    ranking = rank_trials(found, ZIP_55902, EstimateRouter(), place_precision="zip")
    used = dict(zip(ranking.studies["nct_id"], ranking.studies["rule_used"], strict=True))
    assert used["NCT07085104"] == "RESOLUTION preset"
    assert used["NCT90000003"] == "CAR-T label preset"  # lisocabtagene maraleucel (Breyanzi)
    assert used["NCT90000001"] == "limit you chose"
    notes = dict(zip(ranking.studies["nct_id"], ranking.studies["notes"], strict=True))
    assert "Breyanzi" in notes["NCT90000003"]
    assert "CAR-T study" in notes["NCT90000002"]  # experimental CAR-T: no known rule

    # A rule the user gives for a study wins, and changes its verdict.
    strict = custom_rule(60, min_days=28)
    mine = rank_trials(
        found, ZIP_55902, EstimateRouter(), place_precision="zip", rules={"NCT90000001": strict}
    ).studies.set_index("nct_id")
    assert mine.loc["NCT90000001", "rule_used"].startswith("rule you gave")
    assert mine.loc["NCT90000001", "limit_min"] == 60
    assert mine.loc["NCT90000001", "verdict"] == "outside"  # La Crosse ~89 min > 60
    assert mine.loc["NCT07085104", "limit_min"] == PRESETS["resolution"].max_drive_min

    # A shorter limit of the user's own applies to unrecognised studies only.
    short = rank_trials(
        found, ZIP_55902, EstimateRouter(), rule=chosen_limit(45), place_precision="zip"
    ).studies.set_index("nct_id")
    assert short.loc["NCT90000001", "verdict"] == "outside"
    assert short.loc["NCT07085104", "limit_min"] == 120  # RESOLUTION keeps its own


def test_withdrawn_missing_coordinates_and_non_us_sites_are_handled_and_said(
    found: list[dict[str, Any]],
) -> None:
    ranking = rank_trials(found, ZIP_55902, EstimateRouter(), place_precision="zip")
    sites = ranking.sites.set_index("name")
    # The withdrawn Rochester site of NCT90000001 is left out, not counted as nearest.
    withdrawn = ranking.sites[ranking.sites["status"] == "withdrawn"]
    assert len(withdrawn) == 2 and not withdrawn["checked"].any()
    assert (withdrawn["verdict"] == "").all()
    assert withdrawn["reason"].str.contains("left out: site status withdrawn").all()
    # A site without coordinates is unknown, kept and explained.
    fargo = sites.loc["Sanford Health"]
    assert fargo["verdict"] == "unknown" and "no coordinates" in fargo["reason"]
    assert np.isnan(fargo["drive_min"])
    # Canada: far sites are outside on the straight line alone; the study says it has them.
    winnipeg = sites.loc["Health Sciences Centre"]
    assert winnipeg["verdict"] == "outside" and bool(winnipeg["beyond_reach"])
    assert "straight line" in winnipeg["basis"] and np.isnan(winnipeg["drive_min"])
    s = ranking.studies.set_index("nct_id")
    assert "2 open site(s) outside the United States" in s.loc["NCT90000004", "notes"]
    assert "1 withdrawn" in s.loc["NCT90000001", "notes"]
    assert "without coordinates" in s.loc["NCT90000001", "notes"]
    assert any("withdrawn" in n for n in ranking.notes)
    assert any("outside the United States" in n for n in ranking.notes)
    assert isinstance(ranking.sites, gpd.GeoDataFrame) and ranking.sites.crs == "EPSG:4326"


def test_city_centre_sites_cannot_give_a_confident_within() -> None:
    # A site placed so that the estimate leaves (margin + 10) min to spare: a confident `within`
    # for an exact site point, but a city centre's error (20 min) could eat it.
    router = EstimateRouter()
    limit = chosen_limit(120, 10)
    margin = float(limit.margins_min(router.info, np.array([True]))[0])
    place = LonLat(-92.4835, 44.0032)
    east = np.linspace(0.05, 3.0, 600)
    minutes = router.drive_times([place.as_tuple()], np.column_stack(
        [place.lon + east, np.full(len(east), place.lat)]))  # fmt: skip
    spare = 120 - minutes.duration_s[0] / 60
    pick = int(np.argmin(np.abs(spare - (margin + 10))))
    assert margin + 5 < spare[pick] < margin + 15
    study = copy.deepcopy(STUDIES[6])  # NCT90000006: one site, made open and moved east
    loc = study["protocolSection"]["contactsLocationsModule"]["locations"][0]
    loc["status"] = "RECRUITING"
    loc["geoPoint"] = {"lat": place.lat, "lon": place.lon + float(east[pick])}
    row = rank_trials([study], place, router, rule=limit).studies.iloc[0]
    assert row["spare_min"] == pytest.approx(spare[pick], abs=0.06)
    assert row["verdict"] == "borderline"
    assert "only a city centre" in row["reason"] and "~20 min" in row["reason"]
    assert row["sites_within_limit"] == 1  # still within the limit, just not confidently


def test_judge_names_what_each_approximate_point_is() -> None:
    # The verdict rule itself says what a site's point is: a ZIP code centroid is not a city
    # centre (the trials ranking used to patch judge's wording afterwards).
    from geo.proximity.judge import judge

    rule = chosen_limit(120, 10)
    info = EstimateRouter().info
    drive_s = np.full(4, 105 * 60.0)  # 15 min to spare: within for exact points only
    got = judge(
        rule,
        info,
        lower_s=drive_s,
        upper_s=drive_s,
        drive_s=drive_s,
        estimated=np.zeros(4, dtype=bool),
        edge=np.zeros(4, dtype=bool),
        place_precision=np.array(["coordinates", "coordinates", "zip", "city"], dtype=object),
        site_precision=np.array(["zip", "city", "coordinates", "coordinates"], dtype=object),
        second_s=np.full(4, np.nan),
        labels=np.full(4, "estimate", dtype=object),
        second_labels=np.full(4, "", dtype=object),
        notes=np.full(4, "", dtype=object),
        no_route="no route",
    )
    assert list(got.verdict) == ["borderline"] * 4
    assert got.reason[0].startswith("the site's point is only a ZIP code centroid;")
    assert "city centre" not in got.reason[0]
    assert got.reason[1].startswith("the site's point is only a city centre;")
    assert got.reason[2].startswith("the place is a ZIP centroid;")
    assert got.reason[3].startswith("the place is a city centroid;")


def test_a_site_across_the_border_is_at_best_borderline() -> None:
    study = copy.deepcopy(STUDIES[1])  # NCT90000001, re-sited in Windsor, Ontario
    loc = study["protocolSection"]["contactsLocationsModule"]["locations"][1]
    loc.update(city="Windsor", state="Ontario", country="Canada", zip="N9A 1E1")
    loc["geoPoint"] = {"lat": 42.30008, "lon": -83.01654}
    detroit = LonLat(-83.04575, 42.33143)
    row = rank_trials([study], detroit, EstimateRouter()).studies.iloc[0]
    assert row["drive_min"] < 20
    assert row["verdict"] == "borderline"
    assert "border crossing" in row["reason"]


def test_data_edge_makes_outside_unknown_and_keeps_within_with_a_note() -> None:
    study = copy.deepcopy(STUDIES[1])  # NCT90000001: Minneapolis, La Crosse routed
    place = LonLat(-92.4835, 44.0032)
    # Targets in order: Minneapolis (col 0), La Crosse (col 1).
    router = CountingRouter(edge_cols=[0, 1], nan_cols=[0])
    ranking = rank_trials([study], place, router, rule=chosen_limit(95, 5))
    sites = ranking.sites.set_index("name")
    assert sites.loc["Hennepin Healthcare", "verdict"] == "unknown"
    assert sites.loc["Hennepin Healthcare", "reason"] == EDGE_REASON
    la_crosse = sites.loc["Gundersen Lutheran Medical Center"]
    assert la_crosse["verdict"] in ("within", "borderline")
    assert EDGE_NOTE in la_crosse["reason"]


def test_phases_are_readable() -> None:
    def with_phases(phases: list[str]) -> dict[str, Any]:
        return {"protocolSection": {"designModule": {"phases": phases}}}

    assert study_phase(with_phases(["PHASE1", "PHASE2"])) == "Phase 1/2"
    assert study_phase(with_phases(["EARLY_PHASE1"])) == "Early Phase 1"
    assert study_phase(with_phases(["NA"])) == "n/a"
    assert study_phase({"protocolSection": {}}) == ""


def test_no_studies_gives_empty_tables() -> None:
    ranking = rank_trials([], ZIP_55902, EstimateRouter())
    assert ranking.studies.empty and list(ranking.studies.columns) == STUDY_COLUMNS
    assert ranking.sites.empty


# --- the local engine (Valhalla on the demo graph) -------------------------------------------


@pytest.mark.engine
def test_local_engine_drive_times_match_its_single_route(tmp_path: Any) -> None:
    from geo.routing.auto import AutoRouter
    from geo.routing.graph import ensure_demo_graph
    from geo.routing.valhalla import ValhallaRouter
    from geo.settings import Settings

    settings = Settings(cache_dir=tmp_path / "cache")
    valhalla = ValhallaRouter(ensure_demo_graph(settings), settings)
    router = AutoRouter(settings, local=[valhalla], online=None)
    study = copy.deepcopy(STUDIES[1])
    locs = study["protocolSection"]["contactsLocationsModule"]["locations"]
    locs[1].update(facility="OSU James", city="Columbus", state="Ohio", zip="43210")
    locs[1]["geoPoint"] = {"lat": 39.994656, "lon": -83.019169}
    locs[2].update(facility="Downtown Columbus clinic", city="Columbus", state="Ohio")
    locs[2]["geoPoint"] = {"lat": 39.9612, "lon": -82.9988}
    place = LonLat(-83.0, 39.99)
    ranking = rank_trials([study], place, router)
    row = ranking.studies.iloc[0]
    assert row["engine"].startswith("valhalla")
    assert row["basis"] == "routed drive time"
    nearest = ranking.sites[ranking.sites["name"] == row["nearest_site"]].iloc[0]
    single: Route = valhalla.route(place, LonLat(float(nearest["lon"]), float(nearest["lat"])))
    assert row["drive_min"] == pytest.approx(single.duration_s / 60, rel=0.1, abs=0.5)
    # Sites far away (Rochester MN withdrew; Chicago is beyond reach) were never routed.
    chicago = ranking.sites[ranking.sites["city"] == "Chicago"].iloc[0]
    straight = haversine_km(np.array([place.as_tuple()]), np.array([[-87.65005, 41.85003]]))
    assert chicago["verdict"] == "outside" and straight[0, 0] > 285
    assert chicago["engine"] == ""


class HalfGraph(EstimateRouter):
    """A stand-in local graph: routed (not an estimate), covering only south of 44.5° N."""

    name = "halfgraph"

    @property
    def info(self) -> EngineInfo:
        return EngineInfo("halfgraph", "test extract")

    def covers(self, points: Points) -> np.ndarray:
        return np.asarray(points, dtype=float)[:, 1] < 44.5


def test_auto_engine_cells_say_which_engine_answered(
    found: list[dict[str, Any]], tmp_path: Any
) -> None:
    from geo.routing.auto import AutoRouter
    from geo.settings import Settings

    router = AutoRouter(Settings(cache_dir=tmp_path), local=[HalfGraph()], online=None)
    ranking = rank_trials(found, ZIP_55902, router, place_precision="zip")
    sites = ranking.sites.set_index("name")
    la_crosse = sites.loc["Gundersen Lutheran Medical Center"]  # 43.8° N: in the graph
    assert la_crosse["engine"] == "halfgraph · test extract"
    assert la_crosse["basis"] == "routed drive time" and la_crosse["margin_min"] == 10
    eau_claire = sites.loc["Mayo Clinic Health System - Eau Claire"]  # 44.8° N: not in it
    assert eau_claire["engine"] == "estimate" and eau_claire["margin_min"] == 30
    assert eau_claire["basis"] == "estimate from straight-line distance"


class TwoEngines(HalfGraph):
    """A routed engine whose second engine (everywhere) says drives take twice as long."""

    def covers(self, points: Points) -> np.ndarray:
        return np.ones(len(np.asarray(points, dtype=float)), dtype=bool)

    def second_opinion(
        self, origins: Points, destinations: Points, matrix: DriveTimeMatrix, horizon_s: float
    ) -> DriveTimeMatrix | None:
        labels = np.full(matrix.shape, "valhalla", dtype=object).astype(str)
        info = EngineInfo("valhalla", "test extract")
        return DriveTimeMatrix(matrix.duration_s * 2, matrix.distance_m, info, labels=labels)


def test_engines_disagreeing_across_the_limit_make_a_site_borderline() -> None:
    router = TwoEngines()
    place = LonLat(-92.4835, 44.0032)
    east = np.linspace(0.05, 3.0, 600)
    xy = np.column_stack([place.lon + east, np.full(len(east), place.lat)])
    minutes = router.drive_times([place.as_tuple()], xy).duration_s[0] / 60
    pick = int(np.argmin(np.abs(minutes - 70)))  # within by the first engine, 140 by the second
    study = copy.deepcopy(STUDIES[6])
    loc = study["protocolSection"]["contactsLocationsModule"]["locations"][0]
    loc["status"] = "RECRUITING"
    loc["geoPoint"] = {"lat": place.lat, "lon": float(xy[pick, 0])}
    row = rank_trials([study], place, router, rule=chosen_limit(120, 10)).studies.iloc[0]
    assert row["verdict"] == "borderline"
    assert row["reason"].startswith("engines disagree: 70 min")
    assert "vs 140 min" in row["reason"]


def test_sites_without_coordinates_are_placed_at_their_zip_centroid_offline(
    found: list[dict[str, Any]],
) -> None:
    from geo.geocode import Geocoder
    from geo.settings import Settings

    offline = Geocoder(Settings(geocoder="offline"))
    ranking = rank_trials(
        found, ZIP_55902, EstimateRouter(), place_precision="zip", geocoder=offline
    )
    fargo = ranking.sites.set_index("name").loc["Sanford Health"]  # ZIP 58122, no geoPoint
    centroid = offline.geocode("58122").point
    assert (fargo["lon"], fargo["lat"]) == (centroid.lon, centroid.lat)
    assert fargo["coord_precision"] == "zip"
    assert "placed at its ZIP code centroid" in fargo["reason"]
    # Fargo is ~370 km from Rochester: outside on the straight line alone.
    assert fargo["verdict"] == "outside" and bool(fargo["beyond_reach"])
    notes = ranking.studies.set_index("nct_id").loc["NCT90000001", "notes"]
    assert "without coordinates" not in notes
    assert not any("no coordinates" in n for n in ranking.notes)


def test_a_studys_drive_in_words_is_the_same_on_every_face() -> None:
    """The CLI table and the page's list both say a study's drive with study_drive_text: the
    time; "over" the limit for a study outside with no site routed; else the face's blank."""
    import pandas as pd

    from sites.trials import study_drive_text

    def study(drive: float, verdict: str) -> pd.Series:
        return pd.Series({"drive_min": drive, "verdict": verdict, "limit_min": 120.0})

    assert study_drive_text(study(100.8, "borderline")) == "1 h 41 min"
    assert study_drive_text(study(float("nan"), "outside")) == "over 2 h 00 min"
    assert study_drive_text(study(float("nan"), "unknown")) == "—"
    assert study_drive_text(study(float("nan"), "unknown"), blank="no drive time") == (
        "no drive time"
    )
