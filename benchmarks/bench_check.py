"""Benchmark: verdicts for 100,000 places × 68 NCI centres with the estimate engine.

Compares, in one run, the vectorised path (`geo.proximity.check`, numpy over the whole matrix)
with a naive per-pair Python loop (math.haversine per place × site, then min). The loop runs on a
subsample (it is slow) and is reported as places/s, so the ratio is like for like. Both must
agree on every verdict of the subsample.

    python benchmarks/bench_check.py [--places 100000] [--loop-places 2000]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from geo.proximity import check
from geo.routing import EstimateRouter
from geo.rules import get_rule
from sites import load_site_set


def naive_verdicts(places: np.ndarray, sites: np.ndarray, router: EstimateRouter) -> list[str]:
    """One place × site pair at a time, in plain Python."""
    rule = get_rule("resolution")
    p = router.params
    margin = rule.effective_margin_min(router.info)
    out = []
    for lon1, lat1 in places:
        best = math.inf
        for lon2, lat2 in sites:
            phi1, phi2 = math.radians(lat1), math.radians(lat2)
            h = (
                math.sin((phi2 - phi1) / 2) ** 2
                + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
            )
            km = 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))
            road = km * p.detour
            speed = p.v_long_kmh - (p.v_long_kmh - p.v_short_kmh) * math.exp(-road / p.d_scale_km)
            best = min(best, road / speed * 60.0)
        spare = round(rule.max_drive_min - best, 6)
        out.append("outside" if spare < 0 else "borderline" if spare < margin else "within")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--places", type=int, default=100_000)
    parser.add_argument("--loop-places", type=int, default=2_000)
    args = parser.parse_args()

    sites = load_site_set("nci-centers")
    site_xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    rng = np.random.default_rng(42)
    places = np.column_stack(
        [rng.uniform(-124.5, -67.0, args.places), rng.uniform(25.0, 49.0, args.places)]
    )
    router = EstimateRouter()
    rule = get_rule("resolution")

    t0 = time.perf_counter()
    result = check(places, sites, rule, router)
    vec_s = time.perf_counter() - t0

    sub = places[: args.loop_places]
    t0 = time.perf_counter()
    naive = naive_verdicts(sub, site_xy, router)
    loop_s = time.perf_counter() - t0

    agree = np.mean(np.array(naive) == result["verdict"].to_numpy()[: len(sub)])
    vec_rate = args.places / vec_s
    loop_rate = len(sub) / loop_s
    print(f"sites: {len(sites)} NCI centres · engine: {router.describe()}")
    print(f"vectorised : {args.places:>7,} places in {vec_s:7.2f} s  → {vec_rate:>10,.0f} places/s")
    print(f"python loop: {len(sub):>7,} places in {loop_s:7.2f} s  → {loop_rate:>10,.0f} places/s")
    print(f"ratio (vectorised / loop, places/s): {vec_rate / loop_rate:,.0f}×")
    print(f"verdicts agree on the loop's subsample: {agree:.1%}")
    counts = result["verdict"].value_counts().to_dict()
    print(f"verdicts: {counts}")


if __name__ == "__main__":
    main()
