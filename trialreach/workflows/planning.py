"""Planning: population coverage (:func:`coverage`) and where to add sites (:func:`suggest`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from geo.errors import EngineNotAvailableError, ValidationError
from geo.places import read_table
from geo.rules import ProximityRule
from geo.settings import Settings

if TYPE_CHECKING:
    from geo.coverage import CoverageResult
    from geo.siting import SuggestResult


from trialreach.workflows.inputs import (
    EngineInput,
    Progress,
    RuleInput,
    SitesInput,
    load_sites,
    open_engine,
    resolve_rule,
    resolve_settings,
)


def read_population(population: str | Path | gpd.GeoDataFrame) -> str | gpd.GeoDataFrame:
    """A population for :func:`coverage`/:func:`suggest`: ``zcta``, ``county``, a file or frame.

    A CSV needs latitude/longitude columns and ``population``; a GeoJSON needs points and
    ``population``. The frame's ``.attrs["source"]`` is the file name.
    """
    if isinstance(population, gpd.GeoDataFrame) or population in ("zcta", "county"):
        return population
    from geo.places import detect_columns

    path = Path(population).expanduser()
    if not path.exists():
        raise ValidationError(
            f"population {str(population)!r}: use 'zcta', 'county' or an existing CSV/GeoJSON file"
        )
    if path.suffix.lower() in (".geojson", ".json"):
        frame = gpd.read_file(path)
    else:
        table = read_table(path, name=str(path))
        cols = detect_columns(table.columns)
        if not cols.has_coordinates:
            raise ValidationError(f"{path}: needs latitude and longitude columns")
        lon = pd.to_numeric(table[cols.lon], errors="coerce")
        lat = pd.to_numeric(table[cols.lat], errors="coerce")
        frame = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    frame.attrs["source"] = path.name
    return frame


def coverage(
    sites: SitesInput = "nci-centers",
    *,
    rule: RuleInput = "resolution",
    engine: EngineInput = "auto",
    population: str | Path | gpd.GeoDataFrame = "zcta",
    screen: bool = False,
    dask: str | None = None,
    workers: int = 2,
    graph: str | None = None,
    reach_bound: bool | None = None,
    max_minutes: float | None = None,
    margin_min: float | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> CoverageResult:
    """Population by drive time to the nearest site: bands, states and the uncovered units.

    Parameters
    ----------
    sites
        A site set name, a CSV/GeoJSON path or a GeoDataFrame.
    population
        ``zcta`` (33,791 ZIP areas, 2020), ``county`` (3,221 counties) or points with a
        ``population`` column (file or GeoDataFrame) — see :func:`read_population`.
    screen
        Let a screening engine (Valhalla) answer only what the rule needs (faster; some units
        land in the ``unknown`` band).
    dask
        Run on Dask: ``"local"`` (a local cluster of ``workers``) or a scheduler address.
    graph
        A built road graph (name or folder) for the engine: routed where it covers, the
        estimate elsewhere (``engine="auto"``); ``by_state.share_routed`` says how much.
    reach_bound
        Route only pairs within the rule's reach (:func:`geo.coverage.nearest_in_reach`);
        default: on when a ``graph`` is given.
    rule, engine, max_minutes, margin_min, settings
        As for :func:`check`.

    Returns
    -------
    geo.coverage.CoverageResult
        Bands (population per drive-time band, minutes), by-state table, the uncovered units as a
        GeoDataFrame (``.uncovered``), totals that always add up, the engine and the rule.
    """
    from geo.coverage import coverage as run_coverage

    s = resolve_settings(engine=engine if isinstance(engine, str) else None, settings=settings)
    the_rule = resolve_rule(rule, max_minutes=max_minutes, margin_min=margin_min)
    site_frame = load_sites(sites, settings=s)
    pop = read_population(population)
    if dask:
        if not isinstance(engine, str | None):
            raise ValidationError("on Dask, name the engine (each worker opens its own)")
        spec = _dask_spec(s.engine, graph, s)
        bound = graph is not None if reach_bound is None else reach_bound
        return _coverage_on_dask(site_frame, the_rule, spec, pop, dask, workers, screen, bound)
    router = open_engine(
        engine if not isinstance(engine, str) else s.engine, graph=graph, settings=s
    )
    return run_coverage(
        site_frame,
        the_rule,
        router,
        pop,
        screen=screen,
        reach_bound=graph is not None if reach_bound is None else reach_bound,
        progress=progress,
        settings=s,
    )


def _dask_spec(engine: str, graph: str | None, settings: Settings) -> Any:
    """What each Dask worker builds: a graph engine opened from the graph's folder (which
    every worker must be able to read at the same path), or an engine by name."""
    from geo.distributed import RouterSpec

    if graph is not None and engine in ("osrm", "valhalla"):
        from geo.routing.graph import load_graph

        return RouterSpec.on_graph(engine, load_graph(graph, settings).path)
    return RouterSpec(engine, (("graph", graph),) if graph is not None else ())


@contextmanager
def _dask_client(address: str, workers: int) -> Iterator[Any]:
    """A client of a new local cluster of ``workers`` processes (closed afterwards), or of the
    scheduler at ``address`` (``tcp://host:8786``)."""
    try:
        from distributed import Client

        from geo.distributed import local_cluster
    except ImportError as exc:
        raise EngineNotAvailableError(
            f"Dask is not installed ({exc}); pip install 'trialreach[planning]'"
        ) from None
    if address == "local":
        with local_cluster(workers, processes=True) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
            yield client
    else:
        with Client(address) as client:  # type: ignore[no-untyped-call]
            yield client


def _coverage_on_dask(
    sites: gpd.GeoDataFrame,
    rule: ProximityRule,
    spec: Any,
    pop: str | gpd.GeoDataFrame,
    address: str,
    workers: int,
    screen: bool,
    reach_bound: bool,
) -> CoverageResult:
    from geo.distributed import coverage_dask

    with _dask_client(address, workers) as client:
        return coverage_dask(
            sites, rule, spec, pop, client=client, screen=screen, reach_bound=reach_bound
        )


def candidate_sites(
    candidates: SitesInput = "hospitals",
    *,
    min_beds: int | None = None,
    settings: Settings | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites for :func:`suggest`; ``.attrs["selection"]`` says which.

    ``hospitals``: open general acute care hospitals with at least ``min_beds`` beds (default
    :data:`geo.coverage.DEFAULT_MIN_BEDS`); otherwise a site set, file or GeoDataFrame as is.
    """
    from geo.coverage import DEFAULT_MIN_BEDS
    from geo.siting import default_candidates

    if isinstance(candidates, str) and candidates == "hospitals":
        beds = DEFAULT_MIN_BEDS if min_beds is None else min_beds
        frame = default_candidates(load_sites("hospitals", settings=settings), beds)
        frame.attrs.setdefault("selection", "hospitals")
        return frame
    frame = load_sites(candidates, settings=settings)
    frame.attrs["selection"] = frame.attrs.get("sites", "candidates")
    return frame


def suggest(
    sites: SitesInput | None = "nci-centers",
    *,
    k: int = 5,
    candidates: SitesInput = "hospitals",
    min_beds: int | None = None,
    rule: RuleInput = "resolution",
    engine: EngineInput = "auto",
    population: str | Path | gpd.GeoDataFrame = "county",
    time_limit_s: float = 120.0,
    graph: str | None = None,
    dask: str | None = None,
    workers: int = 2,
    max_minutes: float | None = None,
    margin_min: float | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> SuggestResult:
    """Choose ``k`` more sites that bring the most people within the rule (MCLP: ILP and greedy).

    Parameters
    ----------
    sites
        Existing sites (their coverage is the baseline); None or ``"none"`` for a green field.
    k
        How many sites to add.
    candidates
        ``hospitals`` (see :func:`candidate_sites`), a site set, a file or a GeoDataFrame.
    population
        ``county`` (default, fast), ``zcta`` or points with ``population``.
    time_limit_s
        Solver time limit in seconds; the result's status says whether optimality was proven.
    graph
        A built road graph for the engine (routed where it covers, estimated elsewhere). Only
        pairs within the rule's reach are routed, never units the sites already cover.
    dask, workers
        Route the coverage sets on Dask: ``"local"`` (a local cluster of ``workers``
        processes) or a scheduler address; the baseline and the solver run here.
    rule, engine, max_minutes, margin_min, settings
        As for :func:`check`.

    Returns
    -------
    geo.siting.SuggestResult
        The ILP and greedy plans (``.table("ilp")`` is a GeoDataFrame of the chosen sites with
        the population each adds), baseline and totals, the engine and the rule.
    """
    from geo.siting import suggest_sites

    s = resolve_settings(engine=engine if isinstance(engine, str) else None, settings=settings)
    the_rule = resolve_rule(rule, max_minutes=max_minutes, margin_min=margin_min)
    green_field = sites is None or (isinstance(sites, str) and sites.lower() == "none")
    existing = None if green_field or sites is None else load_sites(sites, settings=s)
    cand = (
        candidates
        if isinstance(candidates, gpd.GeoDataFrame) and "selection" in candidates.attrs
        else candidate_sites(candidates, min_beds=min_beds, settings=s)
    )
    pop = read_population(population)
    if dask:
        from geo.distributed import suggest_sites_dask

        if not isinstance(engine, str | None):
            raise ValidationError("on Dask, name the engine (each worker opens its own)")
        with _dask_client(dask, workers) as client:
            # The baseline and the coverage sets of the units it leaves uncovered are routed
            # on the cluster; units already covered are never routed against the candidates.
            return suggest_sites_dask(
                existing,
                cand,
                k,
                the_rule,
                _dask_spec(s.engine, graph, s),
                pop,
                client=client,
                time_limit_s=time_limit_s,
                progress=progress,
                settings=s,
            )
    router = open_engine(
        engine if not isinstance(engine, str) else s.engine, graph=graph, settings=s
    )
    return suggest_sites(
        existing,
        cand,
        k,
        the_rule,
        router,
        pop,
        time_limit_s=time_limit_s,
        progress=progress,
        settings=s,
    )
