"""Where the road data stops: the estimate answers the pairs a local graph cannot route.

A local road graph may hold several unconnected parts (the demo graph: Harrisburg PA and
Columbus OH). Between two parts it has no route, and the data-edge rule flags the empty cell
(the missing road lies outside the data). An engine that answers with the estimate where it
cannot route (``auto``: its :class:`~geo.types.EngineInfo` is not an estimate but declares the
estimate's error for the rows it estimates) then gives those pairs the estimate — labelled
``estimate``, with the widened margin and a note saying why — instead of a bare ``unknown``.
An engine chosen by name (a single graph, openrouteservice) keeps the honest ``unknown``, and a
place outside a graph engine's data is said to be outside it (:func:`outside_data_reason`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from geo.routing.base import NearestResult, Router
from geo.routing.estimate import EstimateRouter
from geo.types import BoolArray, DriveTimeMatrix, FloatArray


def estimates_where_it_cannot_route(router: Router) -> bool:
    """True for an engine that answers with the estimate where it cannot route (``auto``)."""
    return not router.is_estimate and router.info.error_fraction > 0


def graph_names(router: Router) -> list[str]:
    """Names of the local road graphs ``router`` answers from (empty for the estimate, ORS)."""
    return [str(g.name) for g in router.graphs()]


def outside_data_reason(router: Router) -> str:
    """Why a place outside a graph engine's road data has no answer, and what to do."""
    names = graph_names(router)
    which = (
        f"graph {names[0]!r}"
        if len(names) == 1
        else ("graphs " + ", ".join(repr(n) for n in names) if names else "this engine")
    )
    return (
        f"outside the road data of {which}: it cannot answer for this place — build a road "
        "graph that covers it (trialreach graph build --sites SET or --pbf FILE) or use the "
        "automatic engine (auto)"
    )


def cut_note(label: str) -> str:
    """The note of a pair estimated because the road data stops between its ends."""
    data = f" ({label})" if label else ""
    return f"the road data{data} ends between the place and the site: no route; estimated instead"


def fill_cut_cells(
    router: Router, origins: FloatArray, destinations: FloatArray, matrix: DriveTimeMatrix
) -> DriveTimeMatrix:
    """``matrix`` with its cut cells (no route, flagged at the data edge) estimated.

    Parameters
    ----------
    router
        The engine that produced ``matrix``; nothing changes unless it estimates where it
        cannot route (:func:`estimates_where_it_cannot_route`).
    origins, destinations
        (n, 2) and (m, 2) lon/lat arrays (degrees) of the matrix's rows and columns.
    matrix
        Drive times in seconds.

    Returns
    -------
    DriveTimeMatrix
        The same matrix where nothing is cut; otherwise the cut cells hold the estimate's time
        (seconds) and distance (metres), ``estimated`` True, label ``estimate``, a note, and no
        edge flag (the estimate does not depend on the road data).
    """
    if matrix.edge_warning is None or not estimates_where_it_cannot_route(router):
        return matrix
    cut = matrix.edge_warning & ~np.isfinite(matrix.duration_s) & ~matrix.cell_estimated()
    if not cut.any():
        return matrix
    estimate = EstimateRouter()
    rows, cols = np.flatnonzero(cut.any(axis=1)), np.flatnonzero(cut.any(axis=0))
    guess = estimate.drive_times(origins[rows], destinations[cols])
    block = cut[np.ix_(rows, cols)]
    duration = matrix.duration_s.copy()
    distance = matrix.distance_m.copy()
    sub = duration[np.ix_(rows, cols)]
    duration[np.ix_(rows, cols)] = np.where(block, guess.duration_s, sub)
    sub = distance[np.ix_(rows, cols)]
    distance[np.ix_(rows, cols)] = np.where(block, guess.distance_m, sub)
    old_labels = matrix.cell_labels()
    labels = np.where(cut, estimate.info.label, old_labels).astype(object)
    notes = matrix.cell_notes().astype(object)
    cut_notes = np.array([cut_note(str(x)) for x in old_labels[cut]], dtype=object)
    notes[cut] = cut_notes
    return replace(
        matrix,
        duration_s=duration,
        distance_m=distance,
        edge_warning=matrix.edge_warning & ~cut,
        labels=labels.astype(str),
        estimated=matrix.cell_estimated() | cut,
        notes=notes.astype(str),
    )


def fill_cut_rows(
    router: Router,
    origins: FloatArray,
    destinations: FloatArray,
    res: NearestResult,
    rows: BoolArray,
    horizon_s: float,
) -> NearestResult:
    """``res`` (each origin's nearest destination) with its cut rows estimated.

    A cut row is one of ``rows`` where the engine found no route to any destination and flagged
    the data edge. Its nearest destination and time then come from the estimate (labelled,
    with a note); rows with a routed answer keep it. Nothing changes unless ``router``
    estimates where it cannot route.
    """
    if not estimates_where_it_cannot_route(router):
        return res
    cut = (
        rows
        & res.edge_warning
        & ~np.isfinite(res.upper_s)
        & ~np.isfinite(res.lower_s)
        & ~res.row_estimated()
    )
    if not cut.any():
        return res
    estimate = EstimateRouter()
    idx = np.flatnonzero(cut)
    guess = estimate.nearest(origins[idx], destinations, horizon_s=horizon_s)

    def put(values: np.ndarray, new: np.ndarray) -> np.ndarray:
        out = values.copy()
        out[idx] = new
        return out

    labels = res.row_labels().astype(object)
    notes = res.row_notes().astype(object)
    new_notes = np.array([cut_note(str(x)) for x in labels[idx]], dtype=object)
    return replace(
        res,
        index=put(res.index, guess.index),
        duration_s=put(res.duration_s, guess.duration_s),
        lower_s=put(res.lower_s, guess.lower_s),
        upper_s=put(res.upper_s, guess.upper_s),
        distance_m=put(res.distance_m, guess.distance_m),
        edge_warning=put(res.edge_warning, np.zeros(len(idx), dtype=bool)),
        method=put(res.method.astype(object), np.full(len(idx), "estimated", dtype=object)).astype(
            str
        ),
        labels=put(labels, np.full(len(idx), estimate.info.label, dtype=object)).astype(str),
        estimated=put(res.row_estimated(), np.ones(len(idx), dtype=bool)),
        notes=put(notes, new_notes).astype(str),
    )
