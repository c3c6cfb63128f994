"""Benchmark: routed national coverage and siting on a national-size synthetic network.

Issue #14.5. Generates (at run time, never shipped) a road lattice over the contiguous U.S.
extent (:mod:`national_network`: secondary roads every ``--spacing-km``, a motorway lattice with
exits), builds both engines' graphs from it and measures:

1. graph build: wall time and peak memory (RSS sampled every 0.2 s) of every build step of
   Valhalla (``valhalla_build_tiles``) and OSRM MLD (``osrm-extract``, ``osrm-partition``,
   ``osrm-customize``), and their sizes on disk;
2. routed coverage of all 33,791 ZCTAs × the 68 NCI centres (OSRM table engine, reach-bounded):
   seconds, pairs asked vs possible, engine calls, pairs/s;
3. routed ``suggest k=5`` over all 8,013 HIFLD hospitals as candidates (ZCTAs): the routed
   baseline, the coverage sets (pairs asked vs possible, pairs/s) and the solve;
4. the same on a 2-process ``LocalCluster`` (``--dask``), checked equal to the one-process run.

The places are real (ZCTA internal points, NCI centres, HIFLD hospitals), the roads are not:
every place inside the extent is moved onto its nearest lattice road first, and the move is
printed. Places outside the extent (Alaska, Hawaii, Puerto Rico, territories) stay where they
are, off the network: they come out as outside by the straight-line bound, or unknown.
The drive times are therefore *not* real drive times; the numbers measure the machinery.

    python benchmarks/bench_national.py [--spacing-km 10] [--dask] [--keep DIR] [--graph DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from national_network import NationalSpec, snap_to_lattice, write_national_pbf

TARGET_COVERAGE_S = 60.0
TARGET_SUGGEST_S = 600.0
STEPS = ("valhalla_build_tiles", "osrm-extract", "osrm-partition", "osrm-customize")


@dataclass
class StepUse:
    first_s: float = float("inf")
    last_s: float = 0.0
    peak_rss: int = 0


class Sampler:
    """Peak RSS and wall span of each build step (child processes, by executable name)."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self.steps: dict[str, StepUse] = {s: StepUse() for s in STEPS}
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.perf_counter()

    def _run(self) -> None:
        import psutil  # type: ignore[import-untyped]

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            now = time.perf_counter() - self._t0
            for p in me.children(recursive=True):
                try:
                    name = p.name()
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                for step in STEPS:
                    if name.startswith(step[:15]):
                        use = self.steps[step]
                        use.first_s = min(use.first_s, now)
                        use.last_s = max(use.last_s, now)
                        use.peak_rss = max(use.peak_rss, rss)
            self.peak_total = max(self.peak_total, total)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def _load() -> str:
    """The 1-minute load average now (other jobs on the machine stretch wall times)."""
    return f"load {os.getloadavg()[0]:.1f}"


def _worker_cpu_s(client: Any) -> float:
    """CPU seconds used so far by the cluster's worker processes (user + system)."""
    import psutil

    def cpu() -> float:
        t = psutil.Process().cpu_times()
        return float(t.user + t.system)

    return float(sum(client.run(cpu).values()))


def build(spec: NationalSpec, work: Path) -> Any:
    from geo.routing.graph import build_graph
    from geo.settings import Settings

    pbf = work / "national.osm.pbf"
    t = time.perf_counter()
    stats = write_national_pbf(pbf, spec)
    gen_s = time.perf_counter() - t
    print(
        f"1. network: {stats.nodes:,} nodes, {stats.ways:,} ways, "
        f"{stats.secondary_km:,.0f} km secondary + {stats.motorway_km:,.0f} km motorway "
        f"(spacing {spec.spacing_km:g} km, motorway every {spec.motorway_every} lines); "
        f"PBF {_mb(stats.pbf_bytes)}, written in {gen_s:.1f} s"
    )
    t = time.perf_counter()
    with Sampler() as sampler:
        manifest = build_graph(
            [pbf],
            "national",
            Settings(cache_dir=work / "cache"),
            out_dir=work / "graph",
            cell_km=max(2.0, 2 * spec.spacing_km),
        )
    wall = time.perf_counter() - t
    print(f"   build_graph (both engines side by side, 2 threads each): {wall:.1f} s wall")
    for step, use in sampler.steps.items():
        span = use.last_s - use.first_s if use.peak_rss else float("nan")
        print(f"   {step:<22} ~{span:6.1f} s  peak RSS {_mb(use.peak_rss)}")
    print(f"   all build processes together: peak RSS {_mb(sampler.peak_total)}")
    print(
        f"   on disk: Valhalla tiles {_mb(manifest.tiles_bytes)} ({manifest.tile_count} tiles), "
        f"OSRM MLD {_mb(manifest.osrm_bytes)}"
    )
    return manifest


def _frame(xy: np.ndarray, base: Any) -> Any:
    import geopandas as gpd

    out = gpd.GeoDataFrame(
        base.drop(columns="geometry"),
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:4326",
    )
    out.attrs.update(base.attrs)
    return out


def snapped_inputs(spec: NationalSpec) -> tuple[Any, Any, Any]:
    from geo.coverage import lonlat_of
    from geo.population import load_zctas
    from sites import load_site_set

    out = []
    for what, frame in (
        ("ZCTAs", load_zctas()),
        ("NCI centres", load_site_set("nci-centers")),
        ("hospitals", load_site_set("hospitals")),
    ):
        xy = lonlat_of(frame, what)
        moved, km, inside = snap_to_lattice(xy, spec)
        print(
            f"   snapped {what}: {int(inside.sum()):,} of {len(xy):,} moved onto the lattice "
            f"(median {np.nanmedian(km):.2f} km, max {np.nanmax(km):.2f} km); "
            f"{int((~inside).sum()):,} outside the extent left off the network"
        )
        out.append(_frame(moved, frame))
    return out[0], out[1], out[2]


def _calls_before(units: np.ndarray, cands: np.ndarray, radius_km: float) -> int:
    """Engine calls of the former scheme: units sorted by latitude in chunks of 1,000, one call
    per chunk per candidate in reach of any unit of the chunk."""
    from geo.coverage import pairs_in_reach

    order = np.argsort(units[:, 1], kind="stable")
    calls = 0
    for start in range(0, len(order), 1000):
        _, ci, _ = pairs_in_reach(units[order[start : start + 1000]], cands, radius_km)
        calls += len(np.unique(ci))
    return calls


def check_against_routes(router: Any, res: Any, nci: Any, rule: Any, n: int = 250) -> None:
    """The independent check of the routed coverage: for ``n`` ZCTAs (100 of them within 15 min
    of the limit) the engine's own single route to the reported nearest centre, and single
    routes to every centre in reach (is the reported one the quickest?)."""
    from geo.errors import OutsideDataError
    from geo.geodesy import haversine_km
    from geo.types import LonLat

    rng = np.random.default_rng(7)
    dur = res.units["duration_s"].to_numpy(float)
    ok = np.flatnonzero(np.isfinite(dur))
    near = ok[np.abs(dur[ok] - rule.max_drive_s) < 900]
    pick = np.concatenate(
        [rng.choice(ok, n - 100, replace=False), rng.choice(near, min(100, len(near)), False)]
    )
    sites = np.column_stack([nci.geometry.x, nci.geometry.y])
    site_of = dict(zip(nci["site_id"], map(tuple, sites), strict=True))
    xy = np.column_stack([res.units.geometry.x, res.units.geometry.y])
    worst, quicker, flips = 0.0, 0, 0
    for i in pick:
        place = LonLat(*xy[i])
        own = router.route(place, LonLat(*site_of[res.units["nearest_site_id"].iloc[i]]))
        worst = max(worst, abs(own.duration_s - dur[i]))
        best = np.inf
        for j in np.flatnonzero(haversine_km(xy[i : i + 1], sites)[0] < 262):
            try:  # a centre off the lattice has no route
                best = min(best, router.route(place, LonLat(*sites[j])).duration_s)
            except OutsideDataError:
                continue
        quicker += best < dur[i] - max(6.0, 0.005 * best)
        flips += (best <= rule.max_drive_s) != (dur[i] <= rule.max_drive_s)
    print(
        f"   checked against single routes ({len(pick)} ZCTAs, {min(100, len(near))} within "
        f"15 min of the limit): largest difference {worst:.2f} s; a quicker centre for "
        f"{quicker}; another verdict for {flips}"
    )


def run_local(manifest: Any, zcta: Any, nci: Any, hospitals: Any, k: int) -> tuple[Any, Any]:
    from geo.coverage import coverage
    from geo.routing.osrm import OsrmRouter
    from geo.rules import get_rule
    from geo.siting import suggest_sites

    rule = get_rule("resolution")
    router = OsrmRouter(manifest)
    print(f"   ({_load()} before coverage)")
    t, c = time.perf_counter(), time.process_time()
    res = coverage(nci, rule, router, zcta, reach_bound=True)
    cov_s = time.perf_counter() - t
    cov_cpu = time.process_time() - c
    r = res.reach
    assert r is not None
    print(
        f"2. routed coverage, {len(zcta):,} ZCTAs × {len(nci)} NCI centres (OSRM MLD, one "
        f"process): {cov_s:.1f} s (target {TARGET_COVERAGE_S:g} s: "
        f"{'met' if cov_s <= TARGET_COVERAGE_S else f'missed by {cov_s / TARGET_COVERAGE_S:.1f}x'}"
        f"); CPU {cov_cpu:.1f} s; {_load()} after"
    )
    print(
        f"   pairs asked {r.pairs_asked:,} of {r.pairs_possible:,} possible "
        f"({r.pairs_possible / max(1, r.pairs_asked):.1f}x fewer), {r.engine_calls} engine calls, "
        f"{r.pairs_asked / cov_s:,.0f} pairs/s; covered {res.share_covered:.1%} (fake roads), "
        f"routed share {res.routed_share:.1%}, unknown {res.unknown_population:,.0f} people"
    )
    check_against_routes(router, res, nci, rule)
    print(f"   ({_load()} before suggest)")
    t, c = time.perf_counter(), time.process_time()
    sug = suggest_sites(nci, hospitals, k, rule, router, zcta, time_limit_s=120.0)
    sug_s = time.perf_counter() - t
    sug_cpu = time.process_time() - c
    st = sug.stats
    print(
        f"3. routed suggest k={k}, {len(hospitals):,} hospitals as candidates, ZCTAs (one "
        f"process): {sug_s:.1f} s (target {TARGET_SUGGEST_S:g} s: "
        f"{'met' if sug_s <= TARGET_SUGGEST_S else f'missed by {sug_s / TARGET_SUGGEST_S:.1f}x'}"
        f"); CPU {sug_cpu:.1f} s; {_load()} after"
    )
    print(
        f"   baseline {st.baseline_s:.1f} s; coverage sets {st.sets_s:.1f} s: pairs asked "
        f"{st.pairs_asked:,} of {st.pairs_possible:,} possible "
        f"({st.pairs_possible / max(1, st.pairs_asked):.0f}x fewer), {st.engine_calls:,} engine "
        f"calls, {st.pairs_asked / max(1e-9, st.sets_s):,.0f} pairs/s; "
        f"{st.units_skipped:,} units already covered not routed; solve {st.solve_s:.1f} s"
    )
    from geo.coverage import BLOCK_KM, lonlat_of, reach_km

    todo = ~res.units["within_rule"].fillna(False).to_numpy(bool)
    xy = lonlat_of(zcta, "ZCTAs")
    before = _calls_before(
        xy[todo & np.isfinite(xy).all(axis=1)],
        lonlat_of(hospitals, "hospitals"),
        reach_km(rule.max_drive_s),
    )
    print(
        f"   engine calls: {st.engine_calls:,} now (one per {BLOCK_KM:g} km block of candidates)"
        f" vs {before:,} with the former per-latitude-chunk blocks "
        f"({before / max(1, st.engine_calls):.1f}x fewer)"
    )
    print(
        f"   ILP +{sug.ilp.gain:,.0f} ({sug.ilp.status}), greedy +{sug.greedy.gain:,.0f}; "
        f"picks {[str(x) for x in sug.table('ilp')['name'].tolist()]}"
    )
    return res, sug


def run_dask(
    manifest: Any, zcta: Any, nci: Any, hospitals: Any, k: int, local: tuple[Any, Any]
) -> None:
    from distributed import Client

    from geo.distributed import RouterSpec, coverage_dask, local_cluster, suggest_sites_dask
    from geo.rules import get_rule

    rule = get_rule("resolution")
    spec = RouterSpec.on_graph("osrm", Path(manifest.path))
    with local_cluster(2, processes=True) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        print(f"   ({_load()} before cluster coverage)")
        t, c, w = time.perf_counter(), time.process_time(), _worker_cpu_s(client)
        res = coverage_dask(nci, rule, spec, zcta, client=client, reach_bound=True)
        cov_s = time.perf_counter() - t
        cov_cpu = time.process_time() - c + _worker_cpu_s(client) - w
        same = np.array_equal(
            res.units["duration_s"].to_numpy(float),
            local[0].units["duration_s"].to_numpy(float),
            equal_nan=True,
        )
        print(
            f"4. 2-process LocalCluster: coverage {cov_s:.1f} s wall "
            f"(one process: {local[0].elapsed_s:.1f} s wall), CPU {cov_cpu:.1f} s (client + "
            f"workers), {_load()} after; same times as one process: {same}"
        )
        print(f"   ({_load()} before cluster suggest)")
        t, c, w = time.perf_counter(), time.process_time(), _worker_cpu_s(client)
        sug = suggest_sites_dask(nci, hospitals, k, rule, spec, zcta, client=client)
        sug_s = time.perf_counter() - t
        sug_cpu = time.process_time() - c + _worker_cpu_s(client) - w
        print(
            f"   suggest {sug_s:.1f} s wall (target {TARGET_SUGGEST_S:g} s: "
            f"{'met' if sug_s <= TARGET_SUGGEST_S else 'missed'}; "
            f"{local[1].elapsed_s / sug_s:.2f}x the one-process wall), CPU {sug_cpu:.1f} s "
            f"(client + workers), {_load()} after; baseline {sug.stats.baseline_s:.1f} s, "
            f"coverage sets {sug.stats.sets_s:.1f} s, solve {sug.stats.solve_s:.1f} s; "
            f"same picks as one process: {sug.ilp.chosen == local[1].ilp.chosen}, same gain: "
            f"{abs(sug.ilp.gain - local[1].ilp.gain) < 1e-6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spacing-km", type=float, default=10.0)
    parser.add_argument("--motorway-every", type=int, default=8)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--dask", action="store_true", help="also run on a 2-process cluster")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--graph", type=Path, help="reuse a graph folder built by --keep")
    parser.add_argument("--keep", type=Path, help="build into this folder and keep it")
    args = parser.parse_args()
    spec = NationalSpec(spacing_km=args.spacing_km, motorway_every=args.motorway_every)
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    tmp = None
    try:
        if args.graph:
            from geo.routing.graph import read_manifest

            manifest = read_manifest(args.graph)
        else:
            work = args.keep or Path(tempfile.mkdtemp(prefix="national-"))
            tmp = None if args.keep else work
            work.mkdir(parents=True, exist_ok=True)
            manifest = build(spec, work)
        if args.build_only:
            return
        zcta, nci, hospitals = snapped_inputs(spec)
        local = run_local(manifest, zcta, nci, hospitals, args.k)
        if args.dask:
            run_dask(manifest, zcta, nci, hospitals, args.k, local)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
