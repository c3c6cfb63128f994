"""Calibrate the ``estimate`` engine against routed trips, and report its error by trip length.

References, all routed in this run (place → destination, each engine's own times):

1. **Real roads** — the demo graph (OpenStreetMap extracts of Harrisburg PA and Columbus OH):
   random pairs inside each city's road data, routed with **OSRM** (the verdict engine: its
   table times equal its routes) and, for comparison, **Valhalla** (its own routes). These trips
   are short (≤ ~40 km): they inform the detour factor and the town speed.
2. **A synthetic highway grid** — 240 × 240 km: residential streets every 2 km (50 km/h),
   primary roads every 10 km (90 km/h) and a motorway lattice every 50 km (113 km/h, exits every
   10 km), routed with OSRM and Valhalla. The longest trips the data allows (up to ~3 h) inform
   the highway speed and the length over which trips shift from town to highway driving. A grid
   has no rivers, hills or sparse regions: its errors are a lower bound for real long trips.

The model ``time = straight × detour / speed(road)`` is fitted to the OSRM trips: the detour
from the real roads' routed distances, the speeds from both references' routed road distances
and times (a grid search; the grid's Manhattan detour is not a real one, see :func:`fit`).
The script prints the error of the current and the fitted parameters by trip length
(median and 90th percentile of |estimate − routed| / routed, and the median bias), for each
reference and engine, and the **error at the limit**: the 90th percentile of |error| over the
trips nearest the rule's length (2 h) that each reference holds (its longest band with enough
trips), the larger of the two. That is the number the estimate's margin follows
(``EstimateParams.error_fraction``)::

    python benchmarks/calibrate_estimate.py [--pairs 400] [--grid-pairs 600]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import shapely

from geo.geodesy import pairwise_km
from geo.routing.base import Router
from geo.routing.estimate import EstimateParams, EstimateRouter
from geo.routing.graph import build_graph, ensure_demo_graph
from geo.routing.osrm import OsrmRouter
from geo.routing.synthetic import GridSpec, write_grid_pbf
from geo.routing.valhalla import ValhallaRouter
from geo.settings import Settings
from geo.types import LonLat

BANDS_MIN = (0.0, 15.0, 30.0, 60.0, 90.0, 150.0, 240.0)
"""Trip-length bands (routed minutes) of the error table."""
LIMIT_MIN = 120.0
MIN_TRIPS = 25
"""A band needs this many trips for its percentiles to be reported."""

HIGHWAY_GRID = GridSpec(
    size_km=240.0,
    spacing_km=2.0,
    primary_every=5,
    speeds_kmh={"primary": 90.0, "residential": 50.0},
    motorway_every=25,
    motorway_speed_kmh=113.0,
    exit_every=5,
)


def random_points_in(area: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = area.bounds
    out: list[tuple[float, float]] = []
    while len(out) < n:
        xs = rng.uniform(minx, maxx, n * 3)
        ys = rng.uniform(miny, maxy, n * 3)
        ok = shapely.contains_xy(area, xs, ys)
        out.extend(zip(xs[ok], ys[ok], strict=True))
    return np.array(out[:n])


def table_pairs(router: Router, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(seconds, road km) from a[i] to b[i], from one table (OSRM tables equal its routes)."""
    m = router.drive_times(a, b)
    idx = np.arange(len(a))
    return m.duration_s[idx, idx], m.distance_m[idx, idx] / 1000.0


def route_pairs(router: Router, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Seconds from a[i] to b[i], one route each (the engine's own route time)."""
    out = np.full(len(a), np.nan)
    for i, (p, q) in enumerate(zip(a, b, strict=True)):
        try:
            out[i] = router.route(LonLat(*p), LonLat(*q)).duration_s
        except Exception:  # a pair without a route is left out
            continue
    return out


def errors(params: EstimateParams, km: np.ndarray, secs: np.ndarray) -> np.ndarray:
    """Relative error (estimate − routed) / routed of every trip."""
    est = EstimateRouter(params).seconds_for_km(km)
    return np.asarray((est - secs) / secs, dtype=float)


def band_table(label: str, params: EstimateParams, km: np.ndarray, secs: np.ndarray) -> None:
    rel = errors(params, km, secs)
    minutes = secs / 60.0
    print(f"  {label}: {len(km)} trips")
    print("    routed min   trips  median|err|  p90|err|  median bias")
    for lo, hi in itertools.pairwise(BANDS_MIN):
        sel = (minutes >= lo) & (minutes < hi)
        if sel.sum() < MIN_TRIPS:
            if sel.any():
                print(f"    {lo:5.0f}–{hi:<5.0f} {sel.sum():6d}  (too few)")
            continue
        a = np.abs(rel[sel])
        print(
            f"    {lo:5.0f}–{hi:<5.0f} {sel.sum():6d}  {np.median(a):10.1%}  "
            f"{np.quantile(a, 0.9):8.1%}  {np.median(rel[sel]):+10.1%}"
        )


def error_at_limit(params: EstimateParams, km: np.ndarray, secs: np.ndarray) -> tuple[float, str]:
    """p90 |error| of the trips in the band nearest the limit that holds enough trips."""
    rel = np.abs(errors(params, km, secs))
    minutes = secs / 60.0
    bands = list(itertools.pairwise(BANDS_MIN))
    bands.sort(key=lambda b: abs((b[0] + b[1]) / 2 - LIMIT_MIN))
    for lo, hi in bands:
        sel = (minutes >= lo) & (minutes < hi)
        if sel.sum() >= MIN_TRIPS:
            return float(np.quantile(rel[sel], 0.9)), f"{lo:g}–{hi:g} min"
    return float(np.quantile(rel, 0.9)), "all trips"


def fit(
    road_km: np.ndarray, secs: np.ndarray, detour: float, base: EstimateParams
) -> EstimateParams:
    """Town speed, highway speed and scale by grid search on the mean |relative error| of
    ``road / speed(road)`` against the routed time, weighting each trip-length band equally (so
    that many town trips do not drown the few long ones).

    The speeds are fitted on the *routed road distance*, not the straight line: a speed is a
    property of the roads, while the detour is a property of the geography. The synthetic grid
    is a Manhattan lattice (road/straight 1.35 at every length, where real long trips follow
    interstates more directly), so it may teach speeds but not the detour, which comes from the
    real roads alone.
    """
    km = road_km / detour  # straight km for which the model's road distance is the routed one
    minutes = secs / 60.0
    band = np.digitize(minutes, BANDS_MIN[1:-1])
    counts = np.bincount(band, minlength=len(BANDS_MIN))
    weight = 1.0 / counts[band]
    best, best_err = base, np.inf
    for v_short in np.arange(25.0, 60.5, 2.5):
        for v_long in np.arange(70.0, 115.5, 2.5):
            for scale in (10.0, 20.0, 30.0, 40.0, 60.0, 80.0, 120.0):
                p = replace(
                    base,
                    detour=detour,
                    v_short_kmh=float(v_short),
                    v_long_kmh=float(v_long),
                    d_scale_km=scale,
                )
                rel = np.abs(errors(p, km, secs))
                err = float(np.sum(rel * weight) / np.sum(weight))
                if err < best_err:
                    best, best_err = p, err
    return best


def real_trips(
    settings: Settings, n_pairs: int, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(straight km, seconds, road km) per engine on the demo extracts."""
    manifest = ensure_demo_graph(settings)
    osrm, valhalla = OsrmRouter(manifest, settings), ValhallaRouter(manifest, settings)
    parts = list(shapely.get_parts(manifest.covered_area))
    a_all, b_all = [], []
    for part in parts:
        n = max(10, n_pairs // len(parts))
        a_all.append(random_points_in(part, n, rng))
        b_all.append(random_points_in(part, n, rng))
    a, b = np.vstack(a_all), np.vstack(b_all)
    km = pairwise_km(a, b)
    keep = km > 1.0
    a, b, km = a[keep], b[keep], km[keep]
    o_s, o_km = table_pairs(osrm, a, b)
    v_s = route_pairs(valhalla, a[: len(a) // 2], b[: len(b) // 2])
    # Trips under a minute are ends snapped to (nearly) one road point: no drive to compare.
    ok = np.isfinite(o_s) & (o_s >= 60.0)
    vk = np.isfinite(v_s) & (v_s >= 60.0)
    return {
        "osrm": (km[ok], o_s[ok], o_km[ok]),
        "valhalla": (km[: len(v_s)][vk], v_s[vk], np.full(vk.sum(), np.nan)),
    }


def grid_trips(
    tmp: Path, n_pairs: int, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    spec = HIGHWAY_GRID
    pbf = tmp / "highway-grid.osm.pbf"
    write_grid_pbf(pbf, spec)
    settings = Settings(cache_dir=tmp)
    manifest = build_graph([pbf], "calib-highway", settings)
    osrm, valhalla = OsrmRouter(manifest, settings), ValhallaRouter(manifest, settings)
    # Places anywhere inside the grid (off the nodes), two cells clear of its border.
    lo, hi = 2.0, spec.n - 3.0
    a = spec.lonlat(rng.uniform(lo, hi, n_pairs), rng.uniform(lo, hi, n_pairs))
    b = spec.lonlat(rng.uniform(lo, hi, n_pairs), rng.uniform(lo, hi, n_pairs))
    km = pairwise_km(a, b)
    keep = km > 2.0
    a, b, km = a[keep], b[keep], km[keep]
    o_s, o_km = table_pairs(osrm, a, b)
    n_v = min(len(a), 200)
    v_s = route_pairs(valhalla, a[:n_v], b[:n_v])
    ok, vk = np.isfinite(o_s) & (o_s >= 60.0), np.isfinite(v_s) & (v_s >= 60.0)
    return {
        "osrm": (km[ok], o_s[ok], o_km[ok]),
        "valhalla": (km[:n_v][vk], v_s[vk], np.full(vk.sum(), np.nan)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=400)
    ap.add_argument("--grid-pairs", type=int, default=600)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    current = EstimateParams()

    with tempfile.TemporaryDirectory(prefix="trialreach-calib-") as tmp:
        settings = Settings(cache_dir=Path(tmp))
        real = real_trips(settings, args.pairs, rng)
        grid = grid_trips(Path(tmp), args.grid_pairs, rng)

    km_r, s_r, road_r = real["osrm"]
    detour = round(float(np.median(road_r / km_r)), 2)
    ratio = road_r / km_r
    print(
        f"real roads (demo extracts): OSRM road km / straight km median {np.median(ratio):.3f} "
        f"(10th–90th pct {np.quantile(ratio, 0.1):.2f}–{np.quantile(ratio, 0.9):.2f}); "
        f"straight {km_r.min():.1f}–{km_r.max():.1f} km"
    )
    km_g, s_g, road_g = grid["osrm"]
    print(
        f"highway grid: OSRM road/straight median {np.median(road_g / km_g):.3f}; "
        f"straight {km_g.min():.0f}–{km_g.max():.0f} km, routed "
        f"{s_g.min() / 60:.0f}–{s_g.max() / 60:.0f} min"
    )
    fitted = fit(np.concatenate([road_r, road_g]), np.concatenate([s_r, s_g]), detour, current)
    at_limit = {}
    for label, p in (("current", current), ("fitted", fitted)):
        print(
            f"\n{label}: detour {p.detour:.2f}, town {p.v_short_kmh:g} km/h, highway "
            f"{p.v_long_kmh:g} km/h, scale {p.d_scale_km:g} km"
        )
        worst = 0.0
        for ref, data in (("real roads", real), ("highway grid", grid)):
            for engine in ("osrm", "valhalla"):
                km, secs, _ = data[engine]
                band_table(f"{ref}, {engine}", p, km, secs)
            km, secs, _ = data["osrm"]
            err, where = error_at_limit(p, km, secs)
            print(f"    → error nearest the limit ({ref}, OSRM, {where}): p90 {err:.1%}")
            worst = max(worst, err)
        at_limit[label] = worst
        print(f"  error at the limit (larger of the references): {worst:.1%}")
    print(
        f"\nerror_fraction to use with the fitted parameters: {at_limit['fitted']:.2f} "
        f"(margin at 2 h: {at_limit['fitted'] * LIMIT_MIN:.0f} min)"
    )


if __name__ == "__main__":
    main()
