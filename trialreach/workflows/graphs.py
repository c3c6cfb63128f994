"""Local road graphs: :func:`build_graph`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo.errors import ValidationError
from geo.settings import Settings, get_settings

if TYPE_CHECKING:
    from geo.routing.graph import GraphManifest


from trialreach.workflows.inputs import (
    SitesInput,
    load_sites,
)


def build_graph(
    *,
    pbf: Sequence[str | Path] | None = None,
    sites: SitesInput | None = None,
    name: str | None = None,
    minutes: float = 120.0,
    refresh: bool = False,
    jobs: int = 2,
    progress: Callable[[Any], None] | None = None,
    settings: Settings | None = None,
) -> GraphManifest:
    """Build a local road graph into the cache from OSM extracts, or for a site set.

    Parameters
    ----------
    pbf
        OpenStreetMap extracts (``.osm.pbf``) to merge and build from.
    sites
        Instead of ``pbf``: a site set, file or GeoDataFrame; the Geofabrik extracts (US states)
        covering every site's ``minutes`` of driving are downloaded, verified, clipped and merged.
    name
        Graph name (default: the first file's or the site set's name).
    minutes
        With ``sites``: the longest drive the graph must cover (minutes).
    refresh
        With ``sites``: ask Geofabrik for newer extracts than those kept.
    jobs
        Threads for the tile builder.
    progress
        With ``sites``: called with each progress event (download, verify, clip, build).

    Returns
    -------
    geo.routing.graph.GraphManifest
        What was built: name, OSM date, bounds, tiles and sizes.
    """
    import re

    s = settings or get_settings()
    if (pbf is None or not len(pbf)) == (sites is None):
        raise ValidationError("give either pbf (OSM extracts) or sites, not both or neither")
    if pbf:
        from geo.routing.graph import build_graph as build

        paths = [Path(p).expanduser() for p in pbf]
        graph_name = name or paths[0].name.split(".")[0].lower()
        return build(paths, graph_name, s, jobs=jobs)
    assert sites is not None
    from geo.lodging.store import store_lodging_for_graph
    from geo.osm.sitegraph import build_graph_for_sites

    frame = load_sites(sites, settings=s)
    stem = str(frame.attrs.get("sites", "sites")).split(".")[0]
    graph_name = name or re.sub(r"[^a-z0-9_.-]+", "-", stem.lower()).strip("-.") or "sites"
    return build_graph_for_sites(
        frame,
        graph_name,
        minutes,
        s,
        progress,
        jobs=jobs,
        refresh=refresh,
        keep_lodging=store_lodging_for_graph,
    )
