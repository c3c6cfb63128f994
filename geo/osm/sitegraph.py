"""A road graph for a set of sites, from Geofabrik's extracts: plan, download, clip, build.

:func:`build_graph_for_sites` runs the whole pipeline and reports progress through a callback:

1. **Plan** (:func:`geo.osm.plan.plan_extracts`): the states a drive from any site could reach.
2. **Download** (:func:`geo.osm.download.download_extract`): resumable, verified against the
   ``.md5`` Geofabrik publishes.
3. **Clip** (:func:`geo.osm.clip.clip_extract`): the roads within reach.
4. **Merge and build**: the clipped files go to :func:`geo.routing.graph.build_graph`.
5. **Lodging** (optional): the caller's ``keep_lodging`` step stores what the full extracts hold
   next to the graph (the clip keeps roads only). It is passed in, so this module does not depend
   on the lodging package above it (``geo.lodging.store.store_lodging_for_graph`` is the usual one).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Sized
from pathlib import Path
from typing import Any

from shapely.geometry.base import BaseGeometry

from geo._http import HttpClient
from geo.errors import GraphBuildError, TrialreachError
from geo.osm.clip import clip_extract
from geo.osm.download import download_extract, downloads_dir
from geo.osm.plan import DEFAULT_REACH_SPEED_KMH, plan_extracts
from geo.osm.progress import ProgressCallback, ProgressEvent, emit
from geo.routing.graph import DEFAULT_MAX_ISOCHRONE_MIN, GraphManifest, build_graph
from geo.settings import Settings, get_settings

__all__ = ["LodgingStep", "build_graph_for_sites"]

LodgingStep = Callable[[GraphManifest, list[Path], BaseGeometry], Sized]
"""Stores the lodging of the full extracts (paths) within the reach area next to a graph; returns
the places kept (a frame). E.g. :func:`geo.lodging.store.store_lodging_for_graph`."""


def build_graph_for_sites(
    sites_gdf: Any,
    name: str,
    minutes: float = 120.0,
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    *,
    index: Any = None,
    jobs: int = 2,
    refresh: bool = False,
    speed_kmh: float = DEFAULT_REACH_SPEED_KMH,
    algorithm: str = "mld",
    keep_lodging: LodgingStep | None = None,
) -> GraphManifest:
    """Download, verify, clip, merge and build the road graph ``name`` for these sites.

    Parameters
    ----------
    sites_gdf
        Site points (GeoDataFrame in EPSG:4326, e.g. from ``sites.load_site_set``).
    name
        Graph name in the cache (``trialreach graph list`` shows it).
    minutes
        Longest drive the graph must support from each site (min).
    progress
        Called with a :class:`ProgressEvent` at every step (the CLI draws progress bars).
    index
        Extract index (default: the shipped US states index).
    refresh
        Ask Geofabrik for newer versions of extracts already downloaded.
    keep_lodging
        Stores the lodging of the full extracts next to the graph (usually
        ``geo.lodging.store.store_lodging_for_graph``); None keeps no lodging.
    """
    settings = settings or get_settings()
    plan = plan_extracts(sites_gdf, minutes, settings, index=index, speed_kmh=speed_kmh)
    listed = ", ".join(plan.names)
    emit(
        progress,
        ProgressEvent(
            "plan",
            name,
            len(plan.extracts),
            len(plan.extracts),
            f"{plan.site_count} site(s), reach {plan.radius_km:.0f} km: {listed}",
        ),
    )
    client = HttpClient.from_settings("Geofabrik", settings)
    downloads = [
        download_extract(e, settings, progress=progress, client=client, refresh=refresh)
        for e in plan.extracts
    ]
    work_root = downloads_dir(settings)
    work = Path(tempfile.mkdtemp(prefix=f".clip-{name}-", dir=work_root))
    try:
        clipped: list[Path] = []
        for d in downloads:
            out = work / f"{d.extract.slug}-{name}.osm.pbf"
            res = clip_extract(d.path, plan.area, out, progress=progress, label=d.extract.name)
            if res.road_ways_out:
                clipped.append(res.path)
        if not clipped:
            raise GraphBuildError(
                f"no roads within {plan.radius_km:.0f} km of the sites in {listed}; check the "
                "site coordinates"
            )
        emit(
            progress,
            ProgressEvent(
                "build", name, 0, None, f"building tiles from {len(clipped)} clipped extract(s)"
            ),
        )
        t0 = time.perf_counter()
        manifest = build_graph(
            clipped,
            name,
            settings,
            jobs=jobs,
            max_isochrone_min=max(DEFAULT_MAX_ISOCHRONE_MIN, float(minutes)),
            algorithm=algorithm,
        )
        if keep_lodging is not None:
            _store_lodging(
                keep_lodging, manifest, [d.path for d in downloads], plan.area, progress, name
            )
        emit(
            progress,
            ProgressEvent("done", name, 1, 1, f"built {name} in {time.perf_counter() - t0:.1f} s"),
        )
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _store_lodging(
    keep_lodging: LodgingStep,
    manifest: GraphManifest,
    extracts: list[Path],
    area: BaseGeometry,
    progress: ProgressCallback | None,
    name: str,
) -> None:
    """Keep the lodging of the full extracts next to the graph (the clip keeps roads only).

    A failure here does not fail the graph: lodging is then read on first use, and the message
    says how to give the extracts.
    """
    emit(progress, ProgressEvent("lodging", name, 0, None, "extracting lodging (OpenStreetMap)"))
    try:
        frame = keep_lodging(manifest, extracts, area)
    except TrialreachError as exc:
        emit(progress, ProgressEvent("lodging", name, 1, 1, f"lodging not extracted: {exc}"))
        return
    emit(progress, ProgressEvent("lodging", name, 1, 1, f"{len(frame)} lodging places kept"))
