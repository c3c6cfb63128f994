"""Calibrate the ``estimate`` engine against routed Valhalla times, and report its error.

Two references, both measured in this run:

1. **Real roads** — the demo graph (OpenStreetMap extracts of Harrisburg PA and Columbus OH):
   random pairs of points inside each city's road data, routed with Valhalla. These trips are
   short (≤ ~40 km), so they inform the detour factor and the town speed; they cannot inform the
   highway speed of long trips, which stays at its literature value.
2. **A synthetic grid** (Manhattan roads at one speed): the detour of a street grid, which for
   random directions is 4/π ≈ 1.27 in theory.

It prints the error of the current parameters and of the parameters fitted here (median and
90th percentile of |estimate − routed| / routed), so the numbers next to the parameters in
``geo/routing/estimate.py`` can be checked by anyone:

    python benchmarks/calibrate_estimate.py [--pairs 400]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import shapely

from geo.geodesy import haversine_km
from geo.routing.estimate import EstimateParams, EstimateRouter
from geo.routing.graph import build_graph, ensure_demo_graph
from geo.routing.synthetic import GridSpec, write_grid_pbf
from geo.routing.valhalla import ValhallaRouter
from geo.settings import Settings


def random_points_in(area: shapely.Geometry, n: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = area.bounds
    out: list[tuple[float, float]] = []
    while len(out) < n:
        xs = rng.uniform(minx, maxx, n * 3)
        ys = rng.uniform(miny, maxy, n * 3)
        ok = shapely.contains_xy(area, xs, ys)
        out.extend(zip(xs[ok], ys[ok], strict=True))
    return np.array(out[:n])


def routed_pairs(
    router: ValhallaRouter, n_pairs: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(straight km, routed seconds, road km) for random pairs inside each part of the data."""
    km, secs, road = [], [], []
    parts = list(shapely.get_parts(router.graph.covered_area))
    for part in parts:
        n = max(10, int(np.sqrt(n_pairs / len(parts))))
        a = random_points_in(part, n, rng)
        b = random_points_in(part, n, rng)
        m = router.drive_times(a, b)
        straight = haversine_km(a, b)
        ok = np.isfinite(m.duration_s) & (straight > 1.0)
        km.append(straight[ok])
        secs.append(m.duration_s[ok])
        road.append(m.distance_m[ok] / 1000.0)
    return np.concatenate(km), np.concatenate(secs), np.concatenate(road)


def errors(params: EstimateParams, km: np.ndarray, secs: np.ndarray) -> tuple[float, float, float]:
    est = EstimateRouter(params).seconds_for_km(km)
    rel = (est - secs) / secs
    return (
        float(np.median(np.abs(rel))),
        float(np.quantile(np.abs(rel), 0.9)),
        float(np.median(rel)),
    )


def fit_short_trips(
    km: np.ndarray, secs: np.ndarray, road_km: np.ndarray, base: EstimateParams
) -> EstimateParams:
    """Detour from routed distances (median road/straight), then the town speed from times by a
    grid search (the long-trip speed and scale are kept: short trips cannot inform them)."""
    detour = float(np.median(road_km / km))
    best = base
    best_err = np.inf
    for v_short in np.arange(15.0, 60.5, 0.5):
        p = EstimateParams(
            detour=round(detour, 2),
            v_short_kmh=float(v_short),
            v_long_kmh=base.v_long_kmh,
            d_scale_km=base.d_scale_km,
            error_fraction=base.error_fraction,
        )
        err = errors(p, km, secs)[0]
        if err < best_err:
            best, best_err = p, err
    return best


def grid_detour(tmp: Path, rng: np.random.Generator) -> tuple[float, float]:
    spec = GridSpec(size_km=60, speeds_kmh={"primary": 60.0, "residential": 60.0})
    pbf = tmp / "grid.osm.pbf"
    write_grid_pbf(pbf, spec)
    settings = Settings(cache_dir=tmp)
    router = ValhallaRouter(build_graph([pbf], "calib-grid", settings), settings)
    cells = rng.integers(3, spec.n - 3, size=(300, 2))
    pts = spec.lonlat(cells[:, 0], cells[:, 1])
    a, b = pts[:150], pts[150:]
    m = router.drive_times(a, b)
    straight = haversine_km(a, b)
    ok = np.isfinite(m.distance_m) & (straight > 2.0)
    ratio = m.distance_m[ok] / 1000.0 / straight[ok]
    return float(np.mean(ratio)), float(np.median(ratio))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=400)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    with tempfile.TemporaryDirectory(prefix="trialreach-calib-") as tmp:
        settings = Settings(cache_dir=Path(tmp))
        demo = ValhallaRouter(ensure_demo_graph(settings), settings)
        km, secs, road_km = routed_pairs(demo, args.pairs, rng)
        print(
            f"real roads ({demo.info.label}): {len(km)} routed pairs, "
            f"{km.min():.1f}–{km.max():.1f} km straight, median {np.median(km):.1f} km"
        )
        current = EstimateParams()
        fitted = fit_short_trips(km, secs, road_km, current)
        ratio = road_km / km
        print(
            f"  routed road km / straight km: median {np.median(ratio):.3f}, "
            f"10th–90th pct {np.quantile(ratio, 0.1):.2f}–{np.quantile(ratio, 0.9):.2f}"
        )
        for label, p in (("current", current), ("fitted ", fitted)):
            med, p90, bias = errors(p, km, secs)
            print(
                f"  {label}: detour {p.detour:.2f}, town speed {p.v_short_kmh:.1f} km/h → "
                f"median |error| {med:.1%}, 90th pct {p90:.1%}, median bias {bias:+.1%}"
            )
        speed = km / (secs / 3600.0)
        print(f"  straight-line speed of routed trips: median {np.median(speed):.1f} km/h")

        mean_ratio, median_ratio = grid_detour(Path(tmp), rng)
        print(
            f"synthetic street grid: road/straight distance mean {mean_ratio:.3f}, "
            f"median {median_ratio:.3f} (theory for random directions: 4/π = {4 / np.pi:.3f})"
        )
    print(
        "Long trips (highway speed) are not covered by the shipped extracts: v_long stays at "
        "its literature value until a state-sized graph is built (`trialreach graph build`)."
    )


if __name__ == "__main__":
    main()
