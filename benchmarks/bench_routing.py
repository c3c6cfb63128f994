"""Benchmark of the local Valhalla engine on a synthetic road grid (all numbers from one run).

1. Verdicts for many places: full matrix (sites × places) vs screened ``nearest`` (isochrones
   around the limit + exact routing only near it): time, agreement of verdicts, speed-up.
2. 120-minute isochrone latency: first call (cold: new engine, tiles not yet read) vs repeated
   calls (warm).
3. Per-pair route loop vs one matrix call for the same pairs.

Usage::

    python benchmarks/bench_routing.py            # 300 × 300 km grid, 20 sites × 10,000 places
    python benchmarks/bench_routing.py --quick    # 150 × 150 km grid, 10 sites × 2,000 places

The grid has a fast road (100 km/h) every 10 km and slow roads (50 km/h) every 1 km. Places and
sites are random nodes at least two cells from the border (fixed seed).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from geo.routing.base import nearest_from_matrix
from geo.routing.graph import build_graph
from geo.routing.synthetic import GridSpec, write_grid_pbf
from geo.routing.valhalla import ValhallaRouter
from geo.settings import Settings
from geo.types import LonLat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller grid and fewer places")
    ap.add_argument("--limit-min", type=float, default=120.0, help="verdict limit in minutes")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    size_km, n_sites, n_places, n_routes = (
        (150, 10, 2000, 50) if args.quick else (300, 20, 10_000, 200)
    )
    horizon_s = args.limit_min * 60.0
    rng = np.random.default_rng(args.seed)

    with tempfile.TemporaryDirectory(prefix="trialreach-bench-") as tmp:
        settings = Settings(cache_dir=Path(tmp))
        spec = GridSpec(size_km=size_km, speeds_kmh={"primary": 100.0, "residential": 50.0})
        pbf = Path(tmp) / "grid.osm.pbf"
        write_grid_pbf(pbf, spec)
        t0 = time.perf_counter()
        manifest = build_graph([pbf], "bench", settings)
        build_s = time.perf_counter() - t0
        print(
            f"grid {size_km:g} × {size_km:g} km: {spec.n**2:,} nodes, "
            f"tiles built in {build_s:.1f} s ({manifest.tiles_bytes / 1e6:.0f} MB)"
        )

        def random_nodes(k: int) -> np.ndarray:
            cells = rng.integers(2, spec.n - 2, size=(k, 2))
            return spec.lonlat(cells[:, 0], cells[:, 1])

        sites = random_nodes(n_sites)
        places = random_nodes(n_places)

        # --- 2. isochrone latency (first, so the "cold" call really is the first) -------------
        router = ValhallaRouter(manifest, settings)
        centre = spec.lonlat(spec.n // 2, spec.n // 2)
        t0 = time.perf_counter()
        router.isochrones(centre, [120])
        cold_s = time.perf_counter() - t0
        warm, cached = [], []
        for _ in range(3):
            router._iso_cache.clear()  # engine warm (tiles read), answer not cached
            t0 = time.perf_counter()
            router.isochrones(centre, [120])
            warm.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            router.isochrones(centre, [120])
            cached.append(time.perf_counter() - t0)
        warm_s, cached_s = statistics.median(warm), statistics.median(cached)

        # --- 1. verdicts: full matrix vs screened ----------------------------------------------
        t0 = time.perf_counter()
        full = nearest_from_matrix(router.drive_times(places, sites))
        full_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        screened = router.nearest(places, sites, horizon_s=horizon_s)
        screened_s = time.perf_counter() - t0
        # Same sites again (a site set is fixed while places change): site polygons are cached.
        t0 = time.perf_counter()
        router.nearest(places, sites, horizon_s=horizon_s)
        rescreen_s = time.perf_counter() - t0
        # A new engine, as in a new process: the site polygons come from the disk cache.
        t0 = time.perf_counter()
        ValhallaRouter(manifest, settings).nearest(places, sites, horizon_s=horizon_s)
        disk_s = time.perf_counter() - t0
        within_full = np.isfinite(full.duration_s) & (full.duration_s <= horizon_s)
        within_scr = np.isfinite(screened.upper_s) & (screened.upper_s <= horizon_s)
        decided = np.isfinite(screened.upper_s) & (screened.upper_s <= horizon_s) | (
            screened.lower_s > horizon_s
        )
        agree = float(np.mean(within_full == within_scr))
        methods = {m: int((screened.method == m).sum()) for m in ("screened", "routed")}

        # --- 3. route loop vs one matrix ---------------------------------------------------------
        o = places[:n_routes]
        d = sites[rng.integers(0, n_sites, size=n_routes)]
        t0 = time.perf_counter()
        loop = [router.route(LonLat(*a), LonLat(*b)).duration_s for a, b in zip(o, d, strict=True)]
        loop_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        mat = router.drive_times(o, sites)
        matrix_s = time.perf_counter() - t0
        col = {tuple(s): j for j, s in enumerate(sites)}
        same = np.array([mat.duration_s[i, col[tuple(b)]] for i, b in enumerate(d)])
        diff = np.array(loop) - same

    print()
    print(f"verdicts for {n_places:,} places × {n_sites} sites, limit {args.limit_min:g} min")
    print(f"  full matrix      {full_s:8.2f} s  ({n_places * n_sites / full_s:,.0f} pairs/s)")
    print(
        f"  screened nearest {screened_s:8.2f} s  ({methods['screened']:,} screened, "
        f"{methods['routed']:,} routed)"
    )
    print(f"  speed-up         {full_s / screened_s:8.1f} ×")
    print(
        f"  screened again   {rescreen_s:8.2f} s  (site isochrones cached in memory; speed-up "
        f"{full_s / rescreen_s:.1f} ×)"
    )
    print(
        f"  new engine       {disk_s:8.2f} s  (site isochrones from the disk cache; speed-up "
        f"{full_s / disk_s:.1f} ×)"
    )
    print(f"  verdict agreement {agree:.4%} (decided by screening: {decided.mean():.1%})")
    print(
        f"120-min isochrone from the centre: cold {cold_s * 1000:.0f} ms, warm engine "
        f"{warm_s * 1000:.0f} ms, cached {cached_s * 1000:.1f} ms (cold/cached "
        f"{cold_s / cached_s:.0f} ×)"
    )
    print(
        f"route loop {n_routes} pairs in {loop_s:.2f} s ({n_routes / loop_s:.0f} pairs/s) vs one "
        f"{n_routes}×{n_sites} matrix in {matrix_s:.2f} s "
        f"({n_routes * n_sites / matrix_s:.0f} pairs/s; matrix/loop per pair "
        f"{(n_routes * n_sites / matrix_s) / (n_routes / loop_s):.1f} ×; "
        f"route − matrix: median {np.nanmedian(diff):+.0f} s, "
        f"range {np.nanmin(diff):+.0f}…{np.nanmax(diff):+.0f} s)"
    )


if __name__ == "__main__":
    main()
