"""Routing benchmark: trialreach's batch verdicts against the fastest raw engine call (one run).

Everything is measured in ONE run of this script, on one synthetic road grid, and printed as
ratios against the baseline (timings on a shared 2-core machine vary; ratios hold better).

(a) Baseline — the fastest way a user could ask an engine directly for the same pairs:
    Valhalla's full ``timedistancematrix`` with the sites as sources and the places as targets
    (its fastest orientation; note it is the site → place direction and inexact), and OSRM's raw
    ``Table`` (places as sources, sites as destinations), MLD and CH.
(b) trialreach's cold batch verdict path: ``trialreach.api.check`` on all places in a fresh
    process right after ``graph build`` (no cached isochrones), engine ``osrm`` (MLD and CH),
    ``valhalla`` and ``auto`` (the default: OSRM with a Valhalla second opinion near the limit).
(c) Warm: the same check again in the same process.
(d) Exactness: on a sample of places, the verdict of every engine is compared with the verdict
    of the same rule applied to that engine's own exact place → site ``route`` times (the
    minimum over all sites); the reported drive time with that minimum (0.5 % or 6 s).
(e) The CLI: ``trialreach check "lat, lon" --sites FILE --engine osrm --graph NAME`` and
    ``trialreach --help`` as subprocesses, wall time including process start.

Targets (issue 10): cold batch ≥ 2× faster than Valhalla's fastest full matrix; warm ≥ 10×;
single check ≤ 1.5 s; ``--help`` ≤ 0.3 s.

Usage::

    python benchmarks/bench_routing.py            # 300 km grid, 20 sites × 10,000 places, 2 h
    python benchmarks/bench_routing.py --quick    # 150 km grid, 10 sites × 2,000 places, 45 min
    python benchmarks/bench_routing.py --places 2000 --skip-ch   # fewer places, no CH graph
    python benchmarks/bench_routing.py --skip-valhalla-batch      # without the Valhalla batch
    python benchmarks/bench_routing.py --skip-auto-batch          # without the auto batch

CH contraction of a grid is slow (it was still running after 11 min for the 150 km grid on the
loaded 2-core machine); ``--skip-ch`` leaves it out.

The grid is :class:`geo.routing.synthetic.GridSpec` (square): a fast road (100 km/h) every
10 km and slow roads (50 km/h) every 1 km. Sites and places are random nodes in a band of
``size × band`` km across its middle, at least two cells from the border (fixed seed).
``--roads regional`` uses ``benchmarks/regional_roads.py`` instead (fast roads every 10 km,
sparse secondary roads, towns of 2 × 2 km at a quarter of the crossings): sites are town
centres, places 70 % town streets and 30 % any road node, in the same band.

``--default-partition`` also times the raw OSRM table on a dataset partitioned with OSRM's own
default cell sizes (128, 4096, 65536, 2097152), the setting before ``OSRM_MLD_CELL_SIZES``:
the root cause measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CHILD_FLAG = "--child"


def _frames(xy: np.ndarray, sites_xy: np.ndarray) -> tuple[Any, Any]:
    import geopandas as gpd

    places = gpd.GeoDataFrame(
        {"place_id": np.arange(len(xy))},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:4326",
    )
    sites = gpd.GeoDataFrame(
        {
            "site_id": [f"S{j:02d}" for j in range(len(sites_xy))],
            "name": [f"site {j}" for j in range(len(sites_xy))],
        },
        geometry=gpd.points_from_xy(sites_xy[:, 0], sites_xy[:, 1]),
        crs="EPSG:4326",
    )
    return places, sites


def child(args: list[str]) -> None:
    """In a fresh process: check all places twice (cold, warm); write times and rows as JSON."""
    engine, graph, data, cache, limit_min, out = args
    t_start = time.perf_counter()
    from geo.settings import Settings
    from trialreach.api import check

    arrays = np.load(data)
    places, sites = _frames(arrays["places"], arrays["sites"])
    settings = Settings(cache_dir=Path(cache))
    import_s = time.perf_counter() - t_start
    times = []
    result = None
    for _ in range(2):
        t0 = time.perf_counter()
        result = check(
            places,
            sites=sites,
            engine=engine,
            graph=graph,
            settings=settings,
            max_minutes=float(limit_min),
            margin_min=10.0,
        )
        times.append(time.perf_counter() - t0)
    assert result is not None
    sample = int(arrays["sample"])
    rows = result.iloc[:sample]
    Path(out).write_text(
        json.dumps(
            {
                "import_s": import_s,
                "cold_s": times[0],
                "warm_s": times[1],
                "verdict": rows["verdict"].astype(str).tolist(),
                "drive_min": [float(v) for v in rows["drive_min"]],
                "reason": rows["reason"].astype(str).tolist(),
                "counts": {str(k): int(v) for k, v in result["verdict"].value_counts().items()},
                "routed": int((result["basis"] == "routed drive time").sum()),
            }
        )
    )


def run_child(engine: str, graph: str, data: Path, cache: Path, limit_min: float) -> dict[str, Any]:
    out = data.with_name(f"child-{engine}-{graph}.json")
    cmd = [sys.executable, __file__, CHILD_FLAG, engine, graph, str(data), str(cache)]
    t0 = time.perf_counter()
    subprocess.run([*cmd, str(limit_min), str(out)], check=True)
    res: dict[str, Any] = json.loads(out.read_text())
    res["process_s"] = time.perf_counter() - t0
    return res


def wall(cmd: list[str], env: dict[str, str], repeat: int = 3) -> float:
    """Median wall time (s) of a command, output discarded."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def valhalla_tdm(config: Path, sources: np.ndarray, targets: np.ndarray) -> tuple[float, Any]:
    """One Valhalla matrix call (the graph's config: timedistancematrix); seconds and cells."""
    from valhalla import Actor

    actor = Actor(str(config))

    def loc(p: np.ndarray) -> dict[str, float]:
        return {"lon": float(p[0]), "lat": float(p[1])}

    req = {
        "sources": [loc(p) for p in sources],
        "targets": [loc(p) for p in targets],
        "costing": "auto",
        "verbose": False,
    }
    t0 = time.perf_counter()
    res = actor.matrix(req)
    took = time.perf_counter() - t0
    rows = res["sources_to_targets"]["durations"]
    cells = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=float)
    return took, cells


def osrm_table(base: Path, algorithm: str, o: np.ndarray, d: np.ndarray) -> tuple[float, Any]:
    """One raw OSRM Table (places as sources): seconds (incl. opening the data) and cells."""
    import osrm

    t0 = time.perf_counter()
    if algorithm == "MLD":
        engine = osrm.OSRM(storage_config=str(base), algorithm="MLD", use_shared_memory=False)
    else:
        engine = osrm.OSRM(storage_config=str(base), algorithm="CH", use_shared_memory=False)
    params = osrm.TableParameters(
        coordinates=[(float(x), float(y)) for x, y in np.vstack([o, d])],
        sources=list(range(len(o))),
        destinations=list(range(len(o), len(o) + len(d))),
        annotations=["duration"],
    )
    res = engine.Table(params)
    took = time.perf_counter() - t0
    cells = np.array(
        [[np.nan if v is None else v for v in r] for r in res["durations"]], dtype=float
    )
    return took, cells


def default_partition_dataset(pbf: Path, folder: Path) -> tuple[Path, float]:
    """An OSRM MLD dataset of ``pbf`` with OSRM's default cell sizes; its base path and seconds."""
    from geo.routing.graph import osrm_bin_dir, osrm_car_profile

    folder.mkdir(parents=True, exist_ok=True)
    local = folder / "graph.osm.pbf"
    local.write_bytes(pbf.read_bytes())
    bins = osrm_bin_dir()
    t0 = time.perf_counter()
    for cmd in (
        ["osrm-extract", "-p", str(osrm_car_profile()), local.name],
        ["osrm-partition", "graph.osrm"],
        ["osrm-customize", "graph.osrm"],
    ):
        subprocess.run(
            [str(bins / cmd[0]), *cmd[1:]], cwd=folder, check=True, stdout=subprocess.DEVNULL
        )
    return folder / "graph.osrm", time.perf_counter() - t0


def osrm_threads(base: Path, o: np.ndarray, d: np.ndarray) -> float:
    """Wall time of two OSRM Tables (half the places each) run in two threads at once."""
    import threading

    import osrm

    engine = osrm.OSRM(storage_config=str(base), algorithm="MLD", use_shared_memory=False)

    def table(rows: np.ndarray) -> None:
        engine.Table(
            osrm.TableParameters(
                coordinates=[(float(x), float(y)) for x, y in np.vstack([rows, d])],
                sources=list(range(len(rows))),
                destinations=list(range(len(rows), len(rows) + len(d))),
                annotations=["duration"],
            )
        )

    threads = [threading.Thread(target=table, args=(o[k::2],)) for k in range(2)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def osrm_routes(base: Path, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """OSRM Route seconds for every (place, site) pair: the exact reference."""
    import osrm

    engine = osrm.OSRM(storage_config=str(base), algorithm="MLD", use_shared_memory=False)
    out = np.full((len(o), len(d)), np.nan)
    for i, p in enumerate(o):
        for j, s in enumerate(d):
            coords = [(float(p[0]), float(p[1])), (float(s[0]), float(s[1]))]
            with contextlib.suppress(RuntimeError):  # no route: NaN
                r = engine.Route(osrm.RouteParameters(coordinates=coords))
                out[i, j] = float(r["routes"][0]["duration"])
    return out


def valhalla_routes(config: Path, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Valhalla route seconds place → site for every pair: the exact reference."""
    from valhalla import Actor

    actor = Actor(str(config))
    out = np.full((len(o), len(d)), np.nan)
    for i, p in enumerate(o):
        for j, s in enumerate(d):
            req = {
                "locations": [
                    {"lon": float(p[0]), "lat": float(p[1])},
                    {"lon": float(s[0]), "lat": float(s[1])},
                ],
                "costing": "auto",
                "directions_type": "none",
            }
            with contextlib.suppress(RuntimeError):  # no route: NaN
                out[i, j] = float(actor.route(req)["trip"]["summary"]["time"])
    return out


def agreement(res: dict[str, Any], ref_s: np.ndarray, limit_min: float) -> str:
    """Verdicts and times of a child run against the rule applied to exact route times."""
    from geo.rules import custom_rule

    rule = custom_rule(limit_min, margin_min=10.0)
    best = np.nanmin(ref_s, axis=1)
    want = rule.verdicts(best).astype(str)
    got = np.array(res["verdict"], dtype=str)
    same = got == want
    # A routed `outside` near the end of the road data is `unknown` by the data-edge rule.
    edge = ~same & (got == "unknown") & (want == "outside")
    edge &= np.array(["road data ends" in r for r in res["reason"]])
    # auto: a second engine (Valhalla) that falls on the other side of the limit makes the
    # verdict `borderline` with the reason — by design, not an error of the verdict engine.
    disagree = ~same & ~edge & (got == "borderline")
    disagree &= np.array(["engines disagree" in r for r in res["reason"]])
    drive = np.array(res["drive_min"], dtype=float) * 60.0
    timed = np.isfinite(drive)
    close = np.abs(drive - best) <= np.maximum(0.005 * best, 6.0 + 3.0)  # drive_min has 0.1 min
    return (
        f"{int(same.sum())}/{len(got)} verdicts identical"
        + (f", {int(edge.sum())} outside→unknown at the data edge" if edge.any() else "")
        + (f", {int(disagree.sum())} borderline as the engines disagree" if disagree.any() else "")
        + f", {int((~same & ~edge & ~disagree).sum())} different; "
        f"{int((close & timed).sum())}/{int(timed.sum())} reported times = route"
        + f" ({len(got) - int(timed.sum())} rows with bounds only)"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == CHILD_FLAG:
        child(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller grid and fewer places")
    ap.add_argument(
        "--limit-min", type=float, default=None, help="verdict limit in minutes (120; quick 45)"
    )
    ap.add_argument("--places", type=int, default=None, help="number of places (10,000)")
    ap.add_argument("--sites", type=int, default=None, help="number of sites (20)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--sample", type=int, default=200, help="places checked against routes")
    ap.add_argument("--skip-ch", action="store_true", help="no OSRM CH graph")
    ap.add_argument(
        "--roads", choices=("grid", "regional"), default="grid", help="road network (grid)"
    )
    ap.add_argument(
        "--default-partition",
        action="store_true",
        help="also time OSRM's raw table with OSRM's default MLD cell sizes",
    )
    ap.add_argument(
        "--skip-valhalla-batch", action="store_true", help="no trialreach batch on Valhalla"
    )
    ap.add_argument(
        "--skip-auto-batch", action="store_true", help="no trialreach batch on the auto engine"
    )
    args = ap.parse_args()
    from geo.routing.graph import build_graph
    from geo.routing.synthetic import GridSpec, write_grid_pbf
    from geo.settings import Settings

    size_km, band_km, n_sites, n_places = (
        (150, 80, 10, 2000) if args.quick else (300, 160, 20, 10_000)
    )
    n_places = args.places or n_places
    n_sites = args.sites or n_sites
    if args.limit_min is None:
        args.limit_min = 45.0 if args.quick else 120.0
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="trialreach-bench-") as tmp_name:
        tmp = Path(tmp_name)
        cache = tmp / "cache"
        settings = Settings(cache_dir=cache)
        pbf = tmp / "grid.osm.pbf"
        spec = GridSpec(size_km=size_km, speeds_kmh={"primary": 100.0, "residential": 50.0})
        regional = None
        if args.roads == "regional":
            from regional_roads import write_regional_pbf

            regional = write_regional_pbf(pbf, int(size_km), seed=args.seed)
            network = (
                f"regional roads {size_km} × {size_km} km ({len(regional.node_lonlat):,} nodes, "
                f"{len(regional.town_units)} towns)"
            )
        else:
            write_grid_pbf(pbf, spec)
            network = f"grid {size_km} × {size_km} km ({spec.n**2:,} nodes)"
        builds = {}
        manifests = {}
        for name, algorithm in (("bench", "mld"), ("bench-ch", "ch")):
            if algorithm == "ch" and args.skip_ch:
                continue
            t0 = time.perf_counter()
            manifests[name] = build_graph([pbf], name, settings, algorithm=algorithm)
            builds[name] = time.perf_counter() - t0
        print(
            f"{network}; sites and places in the middle {size_km} × {band_km} km; graph build "
            "(Valhalla + OSRM): " + ", ".join(f"{k} {v:.1f} s" for k, v in builds.items())
        )
        lo_row = (spec.n - band_km / spec.spacing_km) / 2

        def random_nodes(k: int) -> np.ndarray:
            cols = rng.integers(2, spec.n - 2, size=k)
            rows = rng.integers(max(2, int(lo_row)), min(spec.n - 2, int(lo_row + band_km)), k)
            return spec.lonlat(cols, rows)

        if regional is None:
            sites = random_nodes(n_sites)
            places = random_nodes(n_places)
        else:
            # Half-km units: the band is rows lo_row … lo_row + band_km (km) of the grid's frame.
            lo_u, hi_u = 2 * lo_row, 2 * (lo_row + band_km)
            in_band = (regional.node_units[:, 1] >= lo_u) & (regional.node_units[:, 1] <= hi_u)
            towns = regional.town_units[
                (regional.town_units[:, 1] >= lo_u) & (regional.town_units[:, 1] <= hi_u)
            ]
            sites = regional.lonlat(towns[rng.choice(len(towns), n_sites, replace=False)])
            town_pool = np.flatnonzero(in_band & regional.in_town)
            any_pool = np.flatnonzero(in_band)
            k_town = round(0.7 * n_places)
            pick = np.concatenate(
                [rng.choice(town_pool, k_town), rng.choice(any_pool, n_places - k_town)]
            )
            places = regional.node_lonlat[rng.permutation(pick)]
        sample = min(args.sample, n_places)
        data = tmp / "points.npz"
        np.savez(data, places=places, sites=sites, sample=sample)
        mld = manifests["bench"]
        osrm_base = mld.osrm_path
        pairs = n_sites * n_places
        print(f"{n_places:,} places × {n_sites} sites = {pairs:,} pairs, limit {args.limit_min:g}")

        # --- (a) baselines -----------------------------------------------------------------
        base_s, tdm = valhalla_tdm(mld.config_path, sites, places)
        print("\n(a) raw engines, the same pairs")
        print(
            f"  Valhalla timedistancematrix, sites as sources   {base_s:8.2f} s "
            f"({pairs / base_s:,.0f} pairs/s)  = baseline"
        )
        raw = {}
        tables = [("MLD", osrm_base)]
        if "bench-ch" in manifests:
            tables.append(("CH", manifests["bench-ch"].osrm_path))
        for label, base in tables:
            took, cells = osrm_table(base, label, places, sites)
            raw[label] = cells
            print(
                f"  OSRM Table {label}, places as sources            {took:8.2f} s "
                f"({pairs / took:,.0f} pairs/s)  {base_s / took:6.2f} × baseline"
            )

        if args.default_partition:
            base_default, took_build = default_partition_dataset(pbf, tmp / "osrm-default")
            took, cells = osrm_table(base_default, "MLD", places, sites)
            same = np.array_equal(np.isnan(cells), np.isnan(raw["MLD"])) and np.allclose(
                cells, raw["MLD"], equal_nan=True, atol=0.05
            )
            print(
                f"  OSRM Table MLD, OSRM's default cell sizes       {took:8.2f} s "
                f"({pairs / took:,.0f} pairs/s)  {base_s / took:6.2f} × baseline "
                f"(same values: {same}; extract + partition {took_build:.0f} s)"
            )

        # Does OSRM's Table run two requests at once (GIL released)? Two threads, half each.
        half_s = osrm_threads(osrm_base, places, sites)
        one_s = osrm_table(osrm_base, "MLD", places, sites)[0]
        print(
            f"  OSRM Table MLD in two threads (half the places each) {half_s:8.2f} s vs one "
            f"call {one_s:.2f} s: {one_s / half_s:.2f} × (2 cores)"
        )

        # --- (b), (c) trialreach batch, each engine in a fresh process -------------------------
        runs: dict[str, dict[str, Any]] = {}
        plan = [("osrm", "bench", "OSRM MLD")]
        if "bench-ch" in manifests:
            plan.append(("osrm", "bench-ch", "OSRM CH"))
        if not args.skip_valhalla_batch:
            plan.append(("valhalla", "bench", "Valhalla (exact routes)"))
        if not args.skip_auto_batch:
            # The default engine: every graph in the cache (OSRM with a Valhalla second opinion
            # near the limit). The demo graph it also opens is built here, outside the timing.
            from geo.routing.graph import ensure_demo_graph

            with contextlib.suppress(Exception):
                ensure_demo_graph(settings)
            plan.append(("auto", "bench", "auto (default engine)"))
        print("\n(b) cold / (c) warm: trialreach.api.check of all places, fresh process")
        for engine, graph, label in plan:
            res = run_child(engine, graph, data, cache, args.limit_min)
            runs[label] = res
            print(
                f"  {label:26s} cold {res['cold_s']:8.2f} s ({base_s / res['cold_s']:5.2f} × "
                f"baseline)   warm {res['warm_s']:8.2f} s ({base_s / res['warm_s']:5.2f} × "
                f"baseline)   verdicts {res['counts']}; places routed {res['routed']:,} of "
                f"{n_places:,} (pairs asked ≤ {res['routed'] * n_sites:,} of {pairs:,})"
            )

        # --- (d) exactness on a sample ---------------------------------------------------------
        print(f"\n(d) verdicts vs the rule on exact place → site routes, {sample} places")
        ref_osrm = osrm_routes(osrm_base, places[:sample], sites)
        if "MLD" in raw:
            diff = np.abs(raw["MLD"][:sample] - ref_osrm)
            print(f"  OSRM Table vs OSRM Route: max |difference| {np.nanmax(diff):.2f} s")
        ref_val = valhalla_routes(mld.config_path, places[:sample], sites)
        with np.errstate(divide="ignore", invalid="ignore"):  # no route, or 0 s: NaN / inf
            tdm_err = (tdm.T[:sample] - ref_val) / ref_val
        tdm_err = np.where(np.isfinite(tdm_err), tdm_err, np.nan)
        print(
            "  Valhalla matrix (baseline, site → place) vs route place → site: "
            f"median {np.nanmedian(tdm_err):+.2%}, range {np.nanmin(tdm_err):+.2%}…"
            f"{np.nanmax(tdm_err):+.2%}"
        )
        for label, res in runs.items():
            ref = ref_val if label.startswith("Valhalla") else ref_osrm
            print(f"  {label:26s} {agreement(res, ref, args.limit_min)}")

        # --- (e) the CLI ----------------------------------------------------------------------
        sites_csv = tmp / "sites.csv"
        lines = ["site_id,name,lat,lon"] + [
            f"S{j:02d},site {j},{lat:.6f},{lon:.6f}" for j, (lon, lat) in enumerate(sites)
        ]
        sites_csv.write_text("\n".join(lines) + "\n")
        exe = str(Path(sys.executable).with_name("trialreach"))
        env = {**os.environ, "TRIALREACH_CACHE_DIR": str(cache)}
        lon, lat = places[0]
        single = [exe, "check", f"{lat:.6f}, {lon:.6f}", "--sites", str(sites_csv)]
        single_s = wall([*single, "--engine", "osrm", "--graph", "bench"], env)
        help_s = wall([exe, "--help"], env)
        print("\n(e) command line, wall time with process start (median of 3)")
        print(f"  trialreach check 'lat, lon' --engine osrm   {single_s:6.2f} s (target ≤ 1.5 s)")
        print(f"  trialreach --help                           {help_s:6.2f} s (target ≤ 0.3 s)")

        print("\nsummary (ratios against the baseline, same run)")
        for label, res in runs.items():
            print(
                f"  {label:26s} cold {base_s / res['cold_s']:5.2f} × (target ≥ 2)   "
                f"warm {base_s / res['warm_s']:5.2f} × (target ≥ 10)"
            )


if __name__ == "__main__":
    main()
