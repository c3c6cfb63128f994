"""Building a graph: one sorted extract, Valhalla tiles and an OSRM dataset, one manifest."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from geo.checksums import sha256_of
from geo.errors import EngineNotAvailableError, GraphBuildError, ValidationError
from geo.routing.graphs.engines import (
    _OSRM_MISSING,
    CONFIG_STAMP,
    osrm_bin_dir,
    osrm_car_profile,
    osrm_version,
    valhalla_bin_dir,
    valhalla_config,
    valhalla_version,
)
from geo.routing.graphs.extracts import _scan_extract, covered_area, sort_extracts
from geo.routing.graphs.folders import _check_name, graph_lock, graphs_dir
from geo.routing.graphs.manifest import (
    DEFAULT_CELL_KM,
    DEFAULT_MAX_ISOCHRONE_MIN,
    DEFAULT_OSRM_ALGORITHM,
    MANIFEST,
    OSRM_ALGORITHMS,
    OSRM_BASE,
    OSRM_BUILD_LEFTOVERS,
    OSRM_DIR,
    FileEntry,
    GraphManifest,
)
from geo.routing.graphs.manifest import OSRM_MLD_CELL_SIZES as OSRM_MLD_CELL_SIZES
from geo.routing.graphs.verify import _forget_verified
from geo.settings import Settings


def _run(cmd: list[str], cwd: Path, log: Path, what: str) -> None:
    """Run one build step with its output in ``log``; GraphBuildError with the log's tail."""
    with log.open("a") as fh:
        proc = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").strip().splitlines()[-5:])
        raise GraphBuildError(f"{what} failed (exit {proc.returncode}); last lines:\n{tail}")


def _build_osrm(sorted_pbf: Path, algorithm: str, jobs: int, log: Path) -> None:
    """OSRM dataset next to ``sorted_pbf`` (named after it), then build leftovers removed."""
    bins = osrm_bin_dir()
    profile = osrm_car_profile()
    if not (bins / "osrm-extract").is_file() or not profile.is_file():
        raise EngineNotAvailableError(_OSRM_MISSING)
    base = sorted_pbf.with_name(OSRM_BASE)
    cwd = sorted_pbf.parent
    threads = ["-t", str(max(1, jobs))]
    _run(
        [str(bins / "osrm-extract"), "-p", str(profile), *threads, sorted_pbf.name],
        cwd,
        log,
        "osrm-extract",
    )
    if algorithm == "ch":
        _run([str(bins / "osrm-contract"), *threads, base.name], cwd, log, "osrm-contract")
    else:
        cells = ["--max-cell-sizes", ",".join(str(c) for c in OSRM_MLD_CELL_SIZES)]
        _run(
            [str(bins / "osrm-partition"), *threads, *cells, base.name],
            cwd,
            log,
            "osrm-partition",
        )
        _run([str(bins / "osrm-customize"), *threads, base.name], cwd, log, "osrm-customize")
    for suffix in OSRM_BUILD_LEFTOVERS:
        base.with_name(base.name + suffix).unlink(missing_ok=True)


def _file_entries(root: Path, files: Sequence[Path]) -> tuple[FileEntry, ...]:
    return tuple(
        (f.relative_to(root).as_posix(), f.stat().st_size, sha256_of(f)) for f in sorted(files)
    )


def build_graph(
    pbfs: Sequence[Path | str],
    name: str,
    settings: Settings | None = None,
    *,
    jobs: int = 2,
    max_isochrone_min: float = DEFAULT_MAX_ISOCHRONE_MIN,
    cell_km: float = DEFAULT_CELL_KM,
    out_dir: Path | None = None,
    algorithm: str = DEFAULT_OSRM_ALGORITHM,
    osrm: bool = True,
) -> GraphManifest:
    """Build Valhalla tiles and an OSRM dataset from OSM extracts into the cache.

    The extracts are first merged into one sorted PBF; both engines are built from it (in
    parallel). The build happens in a temporary folder next to the target and is moved into place
    only when it succeeded, under the graph's file lock, so a failed build never leaves a half
    graph behind and concurrent builds of one graph run one after the other. A graph of the same
    name is replaced.

    Parameters
    ----------
    pbfs
        OSM ``.osm.pbf`` extracts (one or several; overlaps are de-duplicated).
    name
        Graph name (lower-case letters, digits, ``-``, ``_``, ``.``).
    jobs
        Threads for each engine's builder.
    max_isochrone_min
        Longest isochrone contour the Valhalla config allows (minutes).
    cell_km
        Cell size of the covered-area raster (km).
    out_dir
        The graph's folder (default ``<cache_dir>/graphs/<name>``).
    algorithm
        OSRM algorithm: ``mld`` (builds in seconds; default) or ``ch`` (contraction takes far
        longer; its tables were 1.07× faster than MLD's small-cell ones on a regional synthetic
        network, docs/engine.md "Benchmarks").
    osrm
        Build the OSRM dataset (False: Valhalla tiles only).
    """
    _check_name(name)
    algorithm = algorithm.lower()
    if algorithm not in OSRM_ALGORITHMS:
        raise ValidationError(
            f"unknown OSRM algorithm {algorithm!r}; choose one of: {', '.join(OSRM_ALGORITHMS)}"
        )
    paths = [Path(p).expanduser() for p in pbfs]
    if not paths:
        raise ValidationError("give at least one OSM extract (.osm.pbf) to build a graph from")
    for p in paths:
        if not p.is_file():
            raise GraphBuildError(f"OSM extract not found: {p}")
        if not p.name.endswith(".pbf"):
            raise GraphBuildError(
                f"{p.name}: Valhalla reads only .osm.pbf files; convert it first "
                "(e.g. `osmium cat file.osm -o file.osm.pbf`)"
            )
    target = out_dir or graphs_dir(settings) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with graph_lock(target):
        return _build_locked(
            paths, name, target, jobs, max_isochrone_min, cell_km, algorithm if osrm else ""
        )


def _build_locked(
    paths: list[Path],
    name: str,
    target: Path,
    jobs: int,
    max_isochrone_min: float,
    cell_km: float,
    algorithm: str,
) -> GraphManifest:
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        coords_parts = []
        dates: list[datetime] = []
        for p in paths:
            c, newest = _scan_extract(p)
            coords_parts.append(c)
            if newest is not None:
                dates.append(newest)
        coords = np.concatenate(coords_parts) if coords_parts else np.zeros((0, 2))
        if len(coords) == 0:
            raise GraphBuildError(
                "the extracts hold no roads (no ways tagged highway=*); check the files"
            )
        area = covered_area(coords, cell_km)
        osrm_dir = work / OSRM_DIR
        osrm_dir.mkdir()
        sorted_pbf = sort_extracts(paths, osrm_dir / "graph.osm.pbf")
        tiles = work / "tiles"
        tiles.mkdir()
        cfg = valhalla_config(tiles, max_isochrone_min, for_build=True)
        (work / "valhalla.json").write_text(json.dumps(cfg, indent=1))
        exe = valhalla_bin_dir() / "valhalla_build_tiles"
        cmd = [str(exe), "-c", str(work / "valhalla.json"), "-j", str(max(1, jobs))]
        vlog = work / "valhalla-build.log"
        with vlog.open("w") as fh:
            # Valhalla's tile build and OSRM's chain run side by side (each mostly one thread).
            vproc = subprocess.Popen(
                [*cmd, str(sorted_pbf)], cwd=work, stdout=fh, stderr=subprocess.STDOUT
            )
            try:
                if algorithm:
                    _build_osrm(sorted_pbf, algorithm, jobs, work / "osrm-build.log")
            finally:
                vcode = vproc.wait()
        gph = sorted(tiles.rglob("*.gph"))
        if vcode != 0 or not gph:
            tail = "\n".join(vlog.read_text(errors="replace").strip().splitlines()[-5:])
            raise GraphBuildError(
                f"valhalla_build_tiles failed for {', '.join(p.name for p in paths)} "
                f"(exit {vcode}); last lines:\n{tail}"
            )
        # Leftovers of the build that queries do not need.
        for extra in [*work.glob("*.bin"), *work.glob("*.log"), sorted_pbf]:
            extra.unlink(missing_ok=True)
        osrm_files = sorted(osrm_dir.glob(OSRM_BASE + ".*")) if algorithm else []
        if not algorithm:
            shutil.rmtree(osrm_dir, ignore_errors=True)
        final_cfg = valhalla_config(tiles, max_isochrone_min)
        final_cfg["mjolnir"]["tile_dir"] = str(target / "tiles")
        (work / "valhalla.json").write_text(json.dumps(final_cfg, indent=1))
        installed = valhalla_version()
        (work / CONFIG_STAMP).write_text(installed)
        tile_entries = _file_entries(work, gph)
        osrm_entries = _file_entries(work, osrm_files)
        manifest = GraphManifest(
            name=name,
            path=target,
            sources=tuple(p.name for p in paths),
            source_sha256=tuple(sha256_of(p) for p in paths),
            osm_date=max(dates).date().isoformat() if dates else "",
            covered_area=area,
            tile_count=len(gph),
            tiles_bytes=sum(e[1] for e in tile_entries),
            built_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            valhalla_version=installed,
            max_isochrone_min=max_isochrone_min,
            osrm_version=osrm_version() if algorithm else "",
            osrm_algorithm=algorithm,
            osrm_cell_sizes=OSRM_MLD_CELL_SIZES if algorithm == "mld" else (),
            osrm_bytes=sum(e[1] for e in osrm_entries),
            files=tile_entries + osrm_entries,
        )
        (work / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=1))
        if target.exists():
            old = target.with_name(f".{name}-old-{time.time_ns()}")
            target.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        work.rename(target)
        _forget_verified(target)
        return manifest
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
