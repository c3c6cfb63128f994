"""The openrouteservice engine against a local ORS v2 stub (offline).

The stub drives at 6,000 s and 100,000 m per degree of L1 distance (|Δlon| + |Δlat|), so the
expected numbers below are worked out by hand.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import numpy as np
import pytest
import shapely
from conftest import KEY, FakeTime
from shapely import Point
from stub_ors import Fail, StubOrs, slow

from geo._pacing import MinuteQuota
from geo.errors import (
    EngineError,
    EngineNotAvailableError,
    NetworkError,
    OutsideDataError,
    QuotaExceededError,
    RangeLimitError,
    RateLimitError,
)
from geo.routing import get_router
from geo.routing.ors import PUBLIC_LIMITS, SELF_HOSTED_LIMITS, OrsRouter, matrix_blocks
from geo.routing.ors_connection import OrsConnection
from geo.settings import Settings
from geo.types import EngineLimits, LonLat

MakeRouter = Callable[..., OrsRouter]


# --- drive times -------------------------------------------------------------------------


def test_matrix_values_and_request(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    router = make_router()
    origins = [(-77.0, 40.0), (-76.5, 40.25)]
    destinations = [(-77.0, 40.5), (-76.0, 40.0), (-77.0, 40.0)]
    m = router.drive_times(origins, destinations)

    # (-77, 40) -> (-77, 40.5): 0.5° -> 3,000 s, 50 km; -> (-76, 40): 1° -> 6,000 s;
    # (-76.5, 40.25) is 0.5° + 0.25° from each destination -> 4,500 s, 75 km.
    np.testing.assert_allclose(m.duration_s, [[3000, 6000, 0], [4500, 4500, 4500]])
    np.testing.assert_allclose(m.distance_m, [[50_000, 100_000, 0], [75_000, 75_000, 75_000]])
    assert m.engine.name == "ors"
    assert m.engine.data == "openrouteservice public API (OpenStreetMap)"
    assert not m.engine.is_estimate

    (req,) = ors_stub.requests
    assert (req.method, req.path) == ("POST", "/v2/matrix/driving-car/json")
    assert req.headers["authorization"] == KEY
    assert req.body["locations"] == [list(p) for p in origins + destinations]
    assert req.body["sources"] == [0, 1]
    assert req.body["destinations"] == [2, 3, 4]
    assert set(req.body["metrics"]) == {"duration", "distance"}


def test_matrix_chunked_to_public_limit(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    rng = np.random.default_rng(7)
    origins = np.column_stack([rng.uniform(-78, -76, 100), rng.uniform(39.5, 41, 100)])
    destinations = np.column_stack([rng.uniform(-78, -76, 50), rng.uniform(39.5, 41, 50)])
    m = make_router().drive_times(origins, destinations)

    pairs = [r.n_pairs for r in ors_stub.requests_to("matrix")]
    assert pairs == [3_500, 1_500]  # 100 × 50 = 5,000 pairs in two requests
    l1 = np.abs(origins[:, None, 0] - destinations[None, :, 0]) + np.abs(
        origins[:, None, 1] - destinations[None, :, 1]
    )
    np.testing.assert_allclose(m.duration_s, l1 * 6000.0, atol=0.01)
    np.testing.assert_allclose(m.distance_m, l1 * 100_000.0, atol=0.01)


@pytest.mark.parametrize(
    ("rows", "cols", "max_pairs", "n_blocks"),
    [(100, 50, 3500, 2), (1, 10_000, 3500, 3), (7000, 1, 3500, 2), (59, 59, 3500, 1), (3, 4, 5, 3)],
)
def test_matrix_blocks_cover_every_cell_once(
    rows: int, cols: int, max_pairs: int, n_blocks: int
) -> None:
    blocks = matrix_blocks(rows, cols, max_pairs)
    seen = np.zeros((rows, cols), dtype=int)
    for r, c in blocks:
        assert (r.stop - r.start) * (c.stop - c.start) <= max_pairs
        seen[r, c] += 1
    assert len(blocks) == n_blocks
    assert (seen == 1).all()


def test_null_becomes_nan_never_zero(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    island = (-75.0, 41.0)
    ors_stub.unreachable.add(island)
    origins = [(-77.0, 40.0), (np.nan, np.nan), (-76.0, 40.0)]
    m = make_router().drive_times(origins, [(-77.0, 40.5), island])

    assert np.isnan(m.duration_s[:, 1]).all() and np.isnan(m.distance_m[:, 1]).all()
    assert np.isnan(m.duration_s[1]).all()  # no coordinates: unknown, and never sent
    np.testing.assert_allclose(m.duration_s[[0, 2], 0], [3000.0, 9000.0])
    (req,) = ors_stub.requests
    assert len(req.body["locations"]) == 4  # the NaN origin was left out of the request


def test_empty_matrix_sends_nothing(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    m = make_router().drive_times(np.empty((0, 2)), [(-77.0, 40.0)])
    assert m.shape == (0, 1)
    assert ors_stub.requests == []


# --- retries and errors ------------------------------------------------------------------


def test_429_twice_then_success(
    make_router: MakeRouter, ors_stub: StubOrs, fake_time: FakeTime
) -> None:
    ors_stub.script("matrix", 429, 429)
    m = make_router().drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
    assert m.duration_s[0, 0] == pytest.approx(6000.0)
    assert [r.status for r in ors_stub.requests] == [429, 429, 200]
    assert fake_time.sleeps == [1.0, 2.0]  # backoff 1 s, doubled


def test_backoff_is_jittered_within_bounds(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    sleeps: list[float] = []
    ors_stub.script("matrix", 503, 502, 500)
    router = make_router(rng=np.random.default_rng(1).random, sleep=sleeps.append)
    router.drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 0.5 * 2**attempt <= delay <= 2**attempt
    assert len(set(sleeps)) == 3


def test_retry_after_is_honoured(
    make_router: MakeRouter, ors_stub: StubOrs, fake_time: FakeTime
) -> None:
    ors_stub.script("matrix", Fail(429, retry_after=7))
    make_router().drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
    assert fake_time.sleeps == [7.0]


def test_persistent_429_raises_rate_limit(
    make_router: MakeRouter, ors_stub: StubOrs, fake_time: FakeTime
) -> None:
    ors_stub.script("matrix", *[429] * 10)
    with pytest.raises(RateLimitError, match="429"):
        make_router(retries=3).drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
    assert len(ors_stub.requests) == 4
    assert fake_time.sleeps == [1.0, 2.0, 4.0]


def test_500_once_is_retried(
    make_router: MakeRouter, ors_stub: StubOrs, fake_time: FakeTime
) -> None:
    ors_stub.script("*", 500)
    m = make_router().drive_times([(-77.0, 40.0)], [(-77.0, 41.0)])
    assert m.duration_s[0, 0] == pytest.approx(6000.0)
    assert [r.status for r in ors_stub.requests] == [500, 200]
    assert fake_time.sleeps == [1.0]


def test_persistent_500_raises_network_error(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    ors_stub.script("matrix", *[500] * 3)
    with pytest.raises(NetworkError, match="HTTP 500 after 3 tries") as err:
        make_router(retries=2).drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
    assert not isinstance(err.value, RateLimitError)


def test_403_is_quota_exceeded_without_retry(
    make_router: MakeRouter, ors_stub: StubOrs, fake_time: FakeTime
) -> None:
    ors_stub.script("matrix", Fail(403, body={"error": "Quota exceeded"}))
    with pytest.raises(QuotaExceededError, match="daily quota used up or key invalid"):
        make_router().drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
    assert len(ors_stub.requests) == 1
    assert fake_time.sleeps == []


def test_wrong_key_is_quota_exceeded(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    with pytest.raises(QuotaExceededError, match="ORS_API_KEY"):
        make_router(api_key="not-the-key").drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
    assert ors_stub.requests[0].status == 403


def test_timeout_raises_network_error(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    ors_stub.script("matrix", slow(1.5), slow(1.5))
    with pytest.raises(NetworkError, match=r"timed out after 0.3 s after 2 tries"):
        make_router(timeout_s=0.3, retries=1).drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
    assert len(ors_stub.requests_to("matrix")) == 2


def test_unreachable_server_raises_network_error(make_router: MakeRouter) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    router = make_router(base_url=f"http://127.0.0.1:{port}", retries=1)
    with pytest.raises(NetworkError, match="could not connect"):
        router.drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])


def test_server_limit_refusal_is_a_range_limit(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    ors_stub.max_pairs = 4  # the server allows less than the router was told
    with pytest.raises(RangeLimitError, match="error 6004"):
        make_router().drive_times([(-77.0, 40.0)] * 3, [(-76.0, 40.0)] * 3)
    assert len(ors_stub.requests) == 1  # a 400 is not retried


def test_error_messages_hold_no_coordinates(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    msg = "Could not find routable point within a radius of 350.0 meters of coordinate 0: "
    ors_stub.script(
        "directions",
        Fail(404, body={"error": {"code": 2010, "message": msg + "-77.1234567 40.7654321."}}),
    )
    with pytest.raises(OutsideDataError) as err:
        make_router().route(LonLat(-77.1234567, 40.7654321), LonLat(-77.0, 40.0))
    assert "77.123" not in str(err.value) and "40.765" not in str(err.value)
    assert "too far from any road" in str(err.value)


# --- isochrones --------------------------------------------------------------------------


def test_two_hour_isochrone_refused_on_public_api(
    make_router: MakeRouter, ors_stub: StubOrs
) -> None:
    router = make_router()
    for minutes in ([120], [60, 120]):
        with pytest.raises(RangeLimitError) as err:
            router.isochrones([(-76.67, 40.26)], minutes)
        text = str(err.value)
        assert "up to 60 minutes" in text and "120 minutes was asked" in text
        assert "--engine valhalla" in text and "ORS_BASE_URL" in text
    assert ors_stub.requests == []  # refused before anything was sent


def test_one_hour_isochrones_parsed(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    router = make_router()
    centers = [(-77.0, 40.0), (-76.0, 41.0)]
    iso = router.isochrones(centers, [60, 30])

    assert list(iso.columns) == ["point_index", "minutes", "engine", "approximate", "geometry"]
    assert iso.crs.to_epsg() == 4326
    assert iso["point_index"].tolist() == [0, 0, 1, 1]
    assert iso["minutes"].tolist() == [30.0, 60.0, 30.0, 60.0]
    assert not iso["approximate"].any()
    assert (iso["engine"] == "ors · openrouteservice public API (OpenStreetMap)").all()
    # 60 min = 0.6° of L1 distance: a diamond of area 2 × 0.6² = 0.72 square degrees.
    np.testing.assert_allclose(shapely.area(iso.geometry.values), [0.18, 0.72, 0.18, 0.72])
    sixty_around_second = iso.geometry.iloc[3]
    assert sixty_around_second.contains(Point(-76.0 + 0.55, 41.0))
    assert not iso.geometry.iloc[2].contains(Point(-76.0 + 0.55, 41.0))

    (req,) = ors_stub.requests
    assert req.path == "/v2/isochrones/driving-car/geojson"
    assert req.body["range_type"] == "time"
    assert req.body["range"] == [1800, 3600]
    assert req.body["locations"] == [[-77.0, 40.0], [-76.0, 41.0]]


def test_isochrones_batched_by_locations(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    centers = [(-77.0 + i, 40.0) for i in range(7)]
    iso = make_router().isochrones(centers, [45])
    assert [len(r.body["locations"]) for r in ors_stub.requests] == [5, 2]
    assert iso["point_index"].tolist() == list(range(7))
    for i, geom in enumerate(iso.geometry):
        assert geom.centroid.distance(Point(centers[i])) < 1e-9


def test_too_many_contours_for_one_request_are_split(
    make_router: MakeRouter, ors_stub: StubOrs
) -> None:
    minutes = list(range(5, 60, 5))  # 11 contours; the public API takes 10 per request
    iso = make_router().isochrones([(-77.0, 40.0)], minutes)
    assert [len(r.body["range"]) for r in ors_stub.requests] == [10, 1]
    assert iso["minutes"].tolist() == [float(m) for m in minutes]


# --- routes ------------------------------------------------------------------------------


def test_route_parsed(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    route = make_router().route(LonLat(-77.0, 40.0), LonLat(-76.5, 40.25))
    assert route.duration_s == pytest.approx(4500.0)
    assert route.distance_m == pytest.approx(75_000.0)
    assert list(route.geometry.coords) == [(-77.0, 40.0), (-76.5, 40.0), (-76.5, 40.25)]
    assert route.engine.name == "ors"
    (req,) = ors_stub.requests
    assert req.path == "/v2/directions/driving-car/geojson"
    assert req.body["coordinates"] == [[-77.0, 40.0], [-76.5, 40.25]]


def test_no_route_is_an_engine_error(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    ors_stub.unreachable.add((-75.0, 41.0))
    with pytest.raises(EngineError, match="no drivable route"):
        make_router().route(LonLat(-77.0, 40.0), LonLat(-75.0, 41.0))


# --- pacing ------------------------------------------------------------------------------


def test_public_quotas_by_default(make_router: MakeRouter) -> None:
    router = make_router()
    assert router.connection.pacer.per_minute["matrix"] == 40
    assert router.connection.pacer.per_minute["isochrones"] == 20
    assert router.limits == PUBLIC_LIMITS
    assert router.limits.max_matrix_pairs == 3_500
    assert router.limits.max_isochrone_min == 60
    assert router.limits.max_isochrone_locations == 5


def test_matrix_requests_paced_to_quota(
    make_router: MakeRouter, ors_stub: StubOrs, fake_time: FakeTime
) -> None:
    router = make_router(quota_per_min={"matrix": 2}, limits=EngineLimits(max_matrix_pairs=10))
    sent_at: list[float] = []
    real_request = router.connection.session.request

    def spy(*args: object, **kwargs: object) -> object:
        sent_at.append(fake_time.now)
        return real_request(*args, **kwargs)  # type: ignore[arg-type]

    router.connection.session.request = spy  # type: ignore[method-assign]
    m = router.drive_times([(-77.0, 40.0 + i / 10) for i in range(5)], [(-76.0, 40.0)] * 10)
    assert len(ors_stub.requests) == 5
    assert sent_at == [1000.0, 1000.0, 1060.0, 1060.0, 1120.0]
    assert fake_time.sleeps == [60.0, 60.0]
    np.testing.assert_allclose(m.duration_s[:, 0], [6000, 6600, 7200, 7800, 8400])


def test_routers_for_one_key_share_its_quota(
    make_router: MakeRouter, ors_stub: StubOrs, fake_time: FakeTime
) -> None:
    first = make_router(quota_per_min={"matrix": 2})
    second = make_router(quota_per_min={"matrix": 2})
    assert first.connection.pacer is second.connection.pacer
    first.drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
    first.drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
    assert fake_time.sleeps == []
    second.drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
    assert fake_time.sleeps == [60.0]
    other_key = make_router(api_key="another-key", quota_per_min={"matrix": 2})
    assert other_key.connection.pacer is not first.connection.pacer


def test_minute_quota_sliding_window(fake_time: FakeTime) -> None:
    quota = MinuteQuota({"isochrones": 3}, clock=fake_time.clock, sleep=fake_time.sleep)
    times = []
    for gap in [0, 10, 10, 0, 45, 0, 0]:
        fake_time.now += gap
        quota.wait("isochrones")
        times.append(fake_time.now - 1000.0)
        assert quota.wait("directions") == 0.0  # not paced
    # Any 60-s window holds at most 3 isochrone requests.
    assert times == [0, 10, 20, 60, 105, 105, 120]
    for t in times:
        assert sum(t <= u < t + 60 for u in times) <= 3


# --- configuration -----------------------------------------------------------------------


def test_self_hosted_without_key(fake_time: FakeTime) -> None:
    with StubOrs(max_range_s=18_000, max_locations=2, max_intervals=1) as stub:
        settings = Settings(ors_api_key=None, ors_base_url=stub.url)
        router = OrsRouter(settings, sleep=fake_time.sleep, clock=fake_time.clock)
        port = stub.url.rsplit(":", 1)[1]
        assert router.info.data == f"self-hosted openrouteservice at 127.0.0.1:{port}"
        assert router.limits == SELF_HOSTED_LIMITS
        assert router.connection.pacer.per_minute == {}

        m = router.drive_times([(-77.0, 40.0)], [(-76.0, 40.0)])
        assert m.duration_s[0, 0] == pytest.approx(6000.0)
        iso = router.isochrones([(-77.0, 40.0), (-76.0, 40.0), (-75.0, 40.0)], [105, 120, 135])
        assert len(iso) == 9
        assert iso.geometry.iloc[1].area == pytest.approx(2 * 1.2**2)  # 120 min: 1.2°
        # Stock self-hosted limits: 2 locations and 1 range per request -> 2 × 3 requests.
        assert len(stub.requests_to("isochrones")) == 6
        assert all("authorization" not in r.headers for r in stub.requests)
        assert all(r.status == 200 for r in stub.requests)
        assert fake_time.sleeps == []


def test_self_hosted_cap_is_configurable(fake_time: FakeTime) -> None:
    with StubOrs() as stub:
        settings = Settings(ors_api_key=None, ors_base_url=stub.url)
        router = OrsRouter(settings, max_isochrone_min=90)
        with pytest.raises(RangeLimitError, match="max_isochrone_min"):
            router.isochrones([(-77.0, 40.0)], [120])
        assert stub.requests == []
        assert len(router.isochrones([(-77.0, 40.0)], [90])) == 1


def test_public_api_without_key_is_not_available() -> None:
    with pytest.raises(EngineNotAvailableError, match="ORS_API_KEY"):
        OrsRouter(Settings(ors_api_key=None))
    with pytest.raises(EngineNotAvailableError, match="ORS_API_KEY"):
        get_router("ors", settings=Settings(ors_api_key=None))


def test_get_router_returns_ors(ors_stub: StubOrs) -> None:
    router = get_router("ors", settings=Settings(ors_api_key=None, ors_base_url=ors_stub.url))
    assert isinstance(router, OrsRouter)
    public = get_router("ors", settings=Settings(ors_api_key="k"))
    assert isinstance(public, OrsRouter)
    assert public.info.data == "openrouteservice public API (OpenStreetMap)"
    assert public.limits.max_isochrone_min == 60


def test_connection_geocodes_through_the_client(ors_stub: StubOrs) -> None:
    ors_stub.add_place("Hershey Medical Center", -76.6714, 40.2647, layer="venue")
    conn = OrsConnection(Settings(ors_api_key=KEY, ors_base_url=ors_stub.url))
    answer = conn.client.pelias_search(text="Hershey Medical Center", size=1)
    assert answer["features"][0]["geometry"]["coordinates"] == [-76.6714, 40.2647]
    (req,) = ors_stub.requests
    assert (req.method, req.path) == ("GET", "/geocode/search")
    assert req.query["text"] == ["Hershey Medical Center"]
    assert conn.client.pelias_search(text="nowhere at all")["features"] == []


# --- the real API (only with a key) ------------------------------------------------------


@pytest.mark.live
@pytest.mark.skipif(not Settings.from_env().ors_api_key, reason="needs ORS_API_KEY")
def test_live_tiny_matrix() -> None:
    settings = Settings.from_env().with_(ors_base_url="https://api.openrouteservice.org")
    router = OrsRouter(settings)
    hershey_medical_center = (-76.6714, 40.2647)
    harrisburg_downtown = (-76.8844, 40.2732)
    m = router.drive_times([harrisburg_downtown], [hershey_medical_center, harrisburg_downtown])
    assert 600 < m.duration_s[0, 0] < 3600
    assert m.duration_s[0, 1] == pytest.approx(0.0, abs=60)
    assert 10_000 < m.distance_m[0, 0] < 40_000
