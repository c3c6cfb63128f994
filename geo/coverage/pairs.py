"""Which (origin, destination) pairs can be within the limit, and routing exactly those pairs.

:func:`pairs_in_reach` finds every pair inside a straight-line radius (a 2-D index on the
sphere); :func:`pair_blocks` groups the pairs into engine calls and :func:`route_pairs` asks the
engine for them, one table per block.

Why blocks of about :data:`BLOCK_KM` of destinations (measured on the national synthetic
lattice, OSRM MLD, docs/planning.md): an OSRM table costs one search across the *whole* graph
per point of its smaller side (about 0.04 s there), one search inside the point's partition
cell per point of its larger side (about 0.15 ms) and a few µs per table cell. Every
destination (site or candidate) is in exactly one block, so the whole-graph searches are paid
once per destination whatever the block size; a population unit, though, is searched once per
block it is paired with. Larger blocks pair each unit with fewer blocks at the price of more
table cells: 1,073 candidates × their units took 85 s of CPU in 50 km blocks, 68 s in 100 km
and 61 s in 200 km blocks. A block whose table would exceed :data:`BLOCK_CELLS` is split by
its destinations (halves along their longer extent), never by its origins: splitting the
origins would repeat every destination's whole-graph search.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree  # type: ignore[import-untyped]

from geo.coverage.inputs import IntArray, Progress
from geo.geodesy import EARTH_RADIUS_KM, KM_PER_DEG, pairwise_km
from geo.routing.base import Router
from geo.types import EngineInfo, FloatArray

BLOCK_KM = 200.0
"""Destinations within one cell of this size (km) are asked in one table call (see the module
docstring for the measurements behind it)."""
BLOCK_CELLS = 250_000
"""Largest table (origins × destinations) of one block; larger blocks are split by destination.
Equal to the OSRM engine's one-table size, so a block is never split into tables by origin."""


def _unit_vectors(xy: FloatArray) -> FloatArray:
    lon, lat = np.radians(xy[:, 0]), np.radians(xy[:, 1])
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def pairs_in_reach(
    origins: FloatArray, destinations: FloatArray, radius_km: float
) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (origin, destination) pair at most ``radius_km`` apart on the great circle.

    A 2-D spatial index on the sphere: both point sets go into KD-trees on unit vectors, where
    the chord length is a monotone function of the great-circle distance, so the query radius
    is exact at any latitude (no latitude bands, no projection distortion). The candidates are
    then checked with the haversine distance (km), the same formula as the data-edge rule.
    Points with NaN coordinates never pair.

    Returns
    -------
    origin, destination : numpy.ndarray of int64
        Positions in the inputs, sorted by destination then origin.
    km : numpy.ndarray
        Great-circle km of each pair.
    """
    o_ok = np.flatnonzero(np.isfinite(origins).all(axis=1))
    d_ok = np.flatnonzero(np.isfinite(destinations).all(axis=1))
    empty = np.zeros(0, dtype=np.int64)
    if o_ok.size == 0 or d_ok.size == 0 or not radius_km >= 0:
        return empty, empty.copy(), np.zeros(0)
    angle = min(radius_km / EARTH_RADIUS_KM, math.pi)
    chord = 2.0 * math.sin(angle / 2.0) * (1 + 1e-9) + 1e-12
    t_o = cKDTree(_unit_vectors(origins[o_ok]))
    t_d = cKDTree(_unit_vectors(destinations[d_ok]))
    found = t_d.sparse_distance_matrix(t_o, chord, output_type="ndarray")
    di = d_ok[found["i"].astype(np.int64)]
    oi = o_ok[found["j"].astype(np.int64)]
    km = pairwise_km(origins[oi], destinations[di])
    keep = km <= radius_km
    oi, di, km = oi[keep], di[keep], km[keep]
    order = np.lexsort((oi, di))
    return oi[order], di[order], km[order]


def destination_cells(xy: FloatArray, block_km: float) -> IntArray:
    """A cell number per point: cells of about ``block_km`` × ``block_km`` (lon/lat grid whose
    column width follows the latitude of its row). NaN points get -1."""
    dlat = float(block_km) / KM_PER_DEG
    ok = np.isfinite(xy).all(axis=1)
    row = np.floor(np.where(ok, xy[:, 1], 0.0) / dlat)
    coslat = np.clip(np.cos(np.radians((row + 0.5) * dlat)), 0.05, None)
    col = np.floor(np.where(ok, xy[:, 0], 0.0) * coslat / dlat)
    return np.where(ok, row.astype(np.int64) * 1_000_000 + col.astype(np.int64), -1)


def _split_by_destination(
    rows: IntArray, oi: IntArray, di: IntArray, destinations: FloatArray, max_cells: int
) -> list[IntArray]:
    """``rows`` (pairs of one block) as blocks of at most ``max_cells`` table cells each, split
    by destination (halves along the destinations' longer extent); a block of one destination
    is never split."""
    out: list[IntArray] = []
    todo = [rows]
    while todo:
        part = todo.pop()
        dests = np.unique(di[part])
        if len(dests) == 1 or len(np.unique(oi[part])) * len(dests) <= max_cells:
            out.append(part)
            continue
        xy = destinations[dests]
        spread = np.ptp(xy, axis=0) * np.array([math.cos(math.radians(float(xy[0, 1]))), 1.0])
        rank = np.argsort(xy[:, int(np.argmax(spread))], kind="stable")
        first = np.isin(di[part], dests[rank[: len(dests) // 2]])
        todo.extend((part[~first], part[first]))
    return sorted(out, key=lambda r: int(r[0]))


def pair_blocks(
    destinations: FloatArray,
    oi: IntArray,
    di: IntArray,
    *,
    block_km: float | None = BLOCK_KM,
    max_cells: int = BLOCK_CELLS,
) -> list[IntArray]:
    """The pairs ``(oi, di)`` grouped into engine calls: positions into the pairs, one array per
    call.

    A block holds the destinations of one cell of ``block_km`` (:func:`destination_cells`;
    ``None``: each destination alone) and every pair that ends at one of them; a block whose
    table (its distinct origins × its destinations) would exceed ``max_cells`` is split by
    destination. Every destination is in exactly one block. Deterministic: the same pairs give
    the same blocks in every process (the Dask path relies on it).
    """
    n = len(oi)
    if n == 0:
        return []
    key = di if block_km is None else destination_cells(destinations, block_km)[di]
    order = np.argsort(key, kind="stable").astype(np.int64)
    _, starts = np.unique(key[order], return_index=True)
    bounds = [*starts.tolist(), n]
    blocks: list[IntArray] = []
    for a, b in itertools.pairwise(bounds):
        blocks.extend(_split_by_destination(order[a:b], oi, di, destinations, max(1, max_cells)))
    return blocks


@dataclass(frozen=True)
class PairTimes:
    """Drive times of sparse (origin → destination) pairs, with per-pair provenance."""

    duration_s: FloatArray
    distance_m: FloatArray
    estimated: npt.NDArray[np.bool_]
    labels: npt.NDArray[np.object_]
    edge_warning: npt.NDArray[np.bool_]
    engine: EngineInfo
    calls: int
    """Engine calls made (one per block of destinations)."""
    cells: int = 0
    """Table cells computed (origins × destinations of every call; at least the pairs)."""


def empty_pair_times(n: int, engine: EngineInfo) -> PairTimes:
    """NaN times for ``n`` pairs (nothing asked yet), labelled with ``engine``."""
    return PairTimes(
        duration_s=np.full(n, np.nan),
        distance_m=np.full(n, np.nan),
        estimated=np.zeros(n, dtype=bool),
        labels=np.full(n, engine.label, dtype=object),
        edge_warning=np.zeros(n, dtype=bool),
        engine=engine,
        calls=0,
    )


def time_block(
    router: Router, origins: FloatArray, destinations: FloatArray, oi: IntArray, di: IntArray
) -> PairTimes:
    """One engine call (:meth:`Router.drive_times`) for the pairs ``(oi, di)``: a table of their
    distinct origins × their distinct destinations, of which only the pairs are read."""
    dests, dloc = np.unique(di, return_inverse=True)
    orgs, oloc = np.unique(oi, return_inverse=True)
    m = router.drive_times(origins[orgs], destinations[dests])
    edge = (
        m.edge_warning[oloc, dloc] if m.edge_warning is not None else np.zeros(len(oi), dtype=bool)
    )
    return PairTimes(
        duration_s=m.duration_s[oloc, dloc],
        distance_m=m.distance_m[oloc, dloc],
        estimated=m.cell_estimated()[oloc, dloc],
        labels=m.cell_labels()[oloc, dloc].astype(object),
        edge_warning=np.asarray(edge, dtype=bool),
        engine=router.info,
        calls=1,
        cells=len(orgs) * len(dests),
    )


def join_pair_times(
    n: int, engine: EngineInfo, blocks: Sequence[IntArray], parts: Sequence[PairTimes]
) -> PairTimes:
    """The answers of ``blocks`` (positions into ``n`` pairs) put back in pair order."""
    out = empty_pair_times(n, engine)
    for rows, part in zip(blocks, parts, strict=True):
        out.duration_s[rows] = part.duration_s
        out.distance_m[rows] = part.distance_m
        out.estimated[rows] = part.estimated
        out.labels[rows] = part.labels
        out.edge_warning[rows] = part.edge_warning
    return PairTimes(
        duration_s=out.duration_s,
        distance_m=out.distance_m,
        estimated=out.estimated,
        labels=out.labels,
        edge_warning=out.edge_warning,
        engine=engine,
        calls=sum(p.calls for p in parts),
        cells=sum(p.cells for p in parts),
    )


def route_pairs(
    router: Router,
    origins: FloatArray,
    destinations: FloatArray,
    oi: IntArray,
    di: IntArray,
    *,
    block_km: float | None = BLOCK_KM,
    max_cells: int = BLOCK_CELLS,
    progress: Progress | None = None,
) -> PairTimes:
    """Drive times for exactly the pairs ``(origins[oi[k]] → destinations[di[k]])``.

    One table call per block of :func:`pair_blocks` through :meth:`Router.drive_times` (the
    exact table engine where the router has one): (every origin paired with a destination of
    the block) × (those destinations). Only the asked pairs are read from it; the extra cells
    are the price of one call instead of many (``cells`` counts them). Direction: origin
    (population unit) → destination (site). ``progress(done, total)`` counts pairs.
    """
    blocks = pair_blocks(destinations, oi, di, block_km=block_km, max_cells=max_cells)
    parts: list[PairTimes] = []
    done = 0
    for rows in blocks:
        parts.append(time_block(router, origins, destinations, oi[rows], di[rows]))
        done += len(rows)
        if progress is not None:
            progress(done, len(oi))
    return join_pair_times(len(oi), router.info, blocks, parts)
