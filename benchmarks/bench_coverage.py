"""Benchmark: national coverage and site suggestions with the estimate engine (one run).

1. Coverage of the 68 NCI centres, county level (3,221 places) and ZCTA level (33,791 places):
   wall seconds (best of ``--repeat``) and places/s, with the share within 2 hours.
2. Coverage sets at the scale of the issue: every ZCTA × every HIFLD hospital (33,791 × 8,013 =
   271 million pairs if done densely): seconds, pairs routed after the straight-line cut-off,
   pairs kept, and the memory a dense float64 matrix would have needed.
3. Where to add k = 5 sites (from the NCI centres' baseline) over the default candidates (open
   general acute care hospitals with ≥ 100 beds): exact ILP (HiGHS) vs greedy, at county
   and ZCTA level: solve seconds, people gained, and whether the picks differ.
0. Before all that: the pairs a routing engine would be asked for, reach-bounded (the 2-D index
   of :func:`geo.coverage.pairs_in_reach`) vs before (coverage: every ZCTA × every site;
   siting: the former latitude-band blocks).
4. Optional (``--dask``): the ZCTA coverage again on a local Dask cluster (2 workers).

    python benchmarks/bench_coverage.py [--repeat 3] [--k 5] [--dask]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from geo.coverage import MAX_SPEED_KMH, coverage, pairs_in_reach, reach_km
from geo.population import load_counties, load_zctas
from geo.routing import get_router
from geo.rules import get_rule
from geo.siting import coverage_sets, default_candidates, suggest_sites
from sites import load_site_set


def _xy(frame) -> np.ndarray:  # type: ignore[no-untyped-def,type-arg]
    return np.column_stack([frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()])


def _latitude_band_pairs(units: np.ndarray, cands: np.ndarray, radius_km: float) -> int:  # type: ignore[type-arg]
    """Cells the former latitude-band scheme routed: per chunk of 1,000 units sorted by
    latitude, every unit × every candidate that paired with any of them (a dense block)."""
    order = np.argsort(units[:, 1], kind="stable")
    total = 0
    for start in range(0, len(order), 1000):
        idx = order[start : start + 1000]
        ui, ci, _ = pairs_in_reach(units[idx], cands, radius_km)
        total += len(np.unique(ui)) * len(np.unique(ci))
    return total


def _pairs_report(
    zcta: np.ndarray,  # type: ignore[type-arg]
    nci: np.ndarray,  # type: ignore[type-arg]
    hospitals: np.ndarray,  # type: ignore[type-arg]
    limit_s: float,
) -> None:
    radius = reach_km(limit_s)
    print(
        f"   reach: {radius:.0f} km straight line ({limit_s / 60:g} min at {MAX_SPEED_KMH:g} km/h)"
    )
    print(f"   {'question':<34} {'possible':>12} {'before':>12} {'asked now':>12} {'fewer':>7}")
    for what, cands, before in (
        ("coverage: ZCTA × NCI centres", nci, None),
        ("siting: ZCTA × all hospitals", hospitals, "bands"),
    ):
        started = time.perf_counter()
        ui, _, _ = pairs_in_reach(zcta, cands, radius)
        index_s = time.perf_counter() - started
        possible = len(zcta) * len(cands)
        old = possible if before is None else _latitude_band_pairs(zcta, cands, radius)
        fewer = old / max(1, len(ui))
        print(
            f"   {what:<34} {possible:>12,} {old:>12,} {len(ui):>12,} {fewer:>6.1f}x"
            f"   (index {index_s:.2f} s)"
        )
    # suggest_sites also skips the units the existing sites already cover (they gain nothing).
    est = get_router("estimate")
    near = est.nearest(zcta, nci, limit_s)
    todo = ~(np.isfinite(near.upper_s) & (near.upper_s <= limit_s))
    ui, _, _ = pairs_in_reach(zcta[todo], hospitals, radius)
    old = _latitude_band_pairs(zcta, hospitals, radius)
    print(
        f"   {'suggest: uncovered ZCTA × hosp.':<34} {len(zcta) * len(hospitals):>12,} "
        f"{old:>12,} {len(ui):>12,} {old / max(1, len(ui)):>6.1f}x"
        f"   ({int(todo.sum()):,} ZCTAs not covered by the NCI centres, estimate engine)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (best kept)")
    parser.add_argument("--k", type=int, default=5, help="sites to add")
    parser.add_argument("--min-beds", type=int, default=100, help="candidate bed threshold")
    parser.add_argument("--dask", action="store_true", help="also time the Dask path")
    args = parser.parse_args()

    router = get_router("estimate")
    rule = get_rule("resolution")
    nci = load_site_set("nci-centers")
    hospitals = load_site_set("hospitals")
    populations = {"county": load_counties(), "zcta": load_zctas()}
    print(f"Engine: {router.describe()}")
    print(f"Rule: {rule.summary()}; sites: {len(nci)} NCI centres\n")

    print("0. Pairs a routing engine is asked for (reach-bounded vs before)")
    _pairs_report(_xy(populations["zcta"]), _xy(nci), _xy(hospitals), rule.max_drive_s)

    print("\n1. Coverage (nearest NCI centre for every place)")
    print(f"{'population':<10} {'places':>8} {'seconds':>9} {'places/s':>11} {'within 2 h':>11}")
    for name, pop in populations.items():
        best = np.inf
        for _ in range(args.repeat):
            started = time.perf_counter()
            res = coverage(nci, rule, router, pop)
            best = min(best, time.perf_counter() - started)
        print(
            f"{name:<10} {len(pop):>8,} {best:>9.2f} {len(pop) / best:>11,.0f} "
            f"{res.share_covered:>10.1%}"
        )

    print("\n2. Coverage sets: every ZCTA × every hospital")
    zcta = populations["zcta"]
    started = time.perf_counter()
    sets = coverage_sets(router, _xy(zcta), _xy(hospitals), rule.max_drive_s)
    seconds = time.perf_counter() - started
    dense = len(zcta) * len(hospitals)
    print(
        f"{len(zcta):,} × {len(hospitals):,} = {dense:,} pairs; {seconds:.2f} s; "
        f"{sets.pairs_routed:,} pairs timed after the straight-line cut-off "
        f"({sets.pairs_routed / dense:.1%}); {len(sets):,} within 2 h kept "
        f"(a dense float64 matrix would need {dense * 8 / 1e9:.1f} GB)"
    )

    candidates = default_candidates(hospitals, args.min_beds)
    print(
        f"\n3. Add k = {args.k} sites: {len(candidates):,} candidates "
        f"({candidates.attrs['selection']})"
    )
    print(
        f"{'population':<10} {'pairs':>9} {'sets s':>7} {'ILP s':>7} {'greedy s':>9} "
        f"{'ILP gain':>12} {'greedy gain':>12} {'ILP status':<10}  same picks"
    )
    for name, pop in populations.items():
        started = time.perf_counter()
        res = suggest_sites(nci, candidates, args.k, rule, router, pop)
        total = time.perf_counter() - started
        sets_s = total - res.ilp.solve_s - res.greedy.solve_s
        if set(res.ilp.chosen) == set(res.greedy.chosen):
            same = "yes"
        elif np.isclose(res.ilp.gain, res.greedy.gain):
            same = "no (ties: equal gain)"
        else:
            same = "no"
        print(
            f"{name:<10} {res.pairs:>9,} {sets_s:>7.2f} {res.ilp.solve_s:>7.2f} "
            f"{res.greedy.solve_s:>9.3f} {res.ilp.gain:>12,.0f} {res.greedy.gain:>12,.0f} "
            f"{res.ilp.status:<10}  {same}"
        )
        table = res.table("ilp")
        picks = "; ".join(
            f"{r['name'].title()} ({r['state']}) +{r['gain_population']:,.0f}"
            for _, r in table.iterrows()
        )
        print(f"{'':<10} ILP picks: {picks}")

    if args.dask:
        from distributed import Client

        from geo.distributed import coverage_dask, local_cluster

        print("\n4. Dask: ZCTA coverage on a local cluster (2 workers, 1 thread each)")
        with local_cluster(2) as cluster, Client(cluster) as client:
            started = time.perf_counter()
            res = coverage_dask(nci, rule, "estimate", zcta, client=client)
            seconds = time.perf_counter() - started
        print(f"{seconds:.2f} s ({len(zcta) / seconds:,.0f} places/s); {res.compute}")
        print("(The estimate engine is cheap, so scheduling dominates here; Dask pays off with")
        print(" routed engines where each chunk takes seconds to minutes.)")


if __name__ == "__main__":
    main()
