"""Batch lodging check: a table of places → one verdict row per input row (none dropped)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.export import csv_bytes
from geo.places import PointGeocoder, locate_places, read_table, without_columns
from geo.proximity import RESULT_COLUMNS, check
from geo.routing import Router
from geo.rules import ProximityRule

TABLE_COLUMNS = [
    "row",
    "place",
    "verdict",
    "drive_min",
    "spare_min",
    "nearest_site",
    "precision",
    "message",
]

EARLIER_RESULT_COLUMNS = (
    *RESULT_COLUMNS,
    *(c for c in TABLE_COLUMNS if c != "place"),  # "place" may be the user's address column
)
"""Columns a results file of an earlier run holds (CLI or app export): replaced when re-checked."""


def run_batch(
    source: IO[bytes] | IO[str],
    filename: str,
    sites: gpd.GeoDataFrame,
    rule: ProximityRule,
    router: Router,
    geocoder: PointGeocoder,
    progress: Callable[[int, int], None] | None = None,
) -> gpd.GeoDataFrame:
    """Verdicts for every row of an uploaded CSV, in input order, with a message per bad row.

    Returns the display columns (:data:`TABLE_COLUMNS`) plus every input column, ``lon``/``lat``,
    the full verdict columns and the point geometry (empty where a row could not be located).
    Raises :class:`~geo.errors.ValidationError` when the file as a whole cannot be read.
    """
    table = read_table(source, name=filename)
    # A results file (from the CLI or this page) checked again: its old answers are replaced.
    table, replaced = without_columns(
        table, EARLIER_RESULT_COLUMNS if "verdict" in table.columns else ()
    )
    located = locate_places(table, geocoder, progress=progress)
    results = check(located, sites, rule, router)
    out = pd.DataFrame(
        {
            "row": np.arange(1, len(table) + 1),
            "place": located["place"].astype(str).to_numpy(),
            "verdict": results["verdict"].to_numpy(),
            "drive_min": results["drive_min"].to_numpy(),
            "spare_min": results["spare_min"].to_numpy(),
            "nearest_site": results["nearest_site"].to_numpy(),
            "precision": located["precision"].astype(str).to_numpy(),
            "message": _messages(located, results),
        },
        index=table.index,
    )
    ours = {*out.columns, "lon", "lat", "nearest_site_id", "basis", "engine", "reason", "geometry"}
    # The user's columns are kept as typed; a name we also use gets an ``input_`` prefix.
    extra = table.rename(columns={c: f"input_{c}" for c in table.columns if c in ours})
    full = pd.concat(
        [
            out,
            extra,
            located[["lon", "lat"]],
            results[["nearest_site_id", "basis", "engine", "reason"]],
        ],
        axis=1,
    )
    frame = gpd.GeoDataFrame(full, geometry=located.geometry.to_numpy(), crs="EPSG:4326")
    frame.attrs["read_notes"] = tuple(table.attrs.get("read_notes", ()))
    frame.attrs["replaced_columns"] = tuple(replaced)
    return frame


def _messages(located: gpd.GeoDataFrame, results: pd.DataFrame) -> np.ndarray:
    error = located["error"].fillna("").astype(str).to_numpy(dtype=object)
    reason = results["reason"].fillna("").astype(str).to_numpy(dtype=object)
    note = located["geocode_note"].fillna("").astype(str).to_numpy(dtype=object)
    msg = np.where(error != "", error, reason)
    msg = np.where((msg == "") & (note != ""), note, msg)
    return msg.astype(str)


def to_csv_bytes(frame: gpd.GeoDataFrame) -> bytes:
    """The batch result as CSV (UTF-8), geometry as lon/lat columns."""
    data = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    return csv_bytes(data)


def to_geojson_bytes(frame: gpd.GeoDataFrame) -> bytes:
    """The batch result as GeoJSON; rows without a location keep ``"geometry": null``."""
    clean = frame.copy()
    for col in clean.columns:
        if col != clean.geometry.name and clean[col].dtype == object:
            clean[col] = clean[col].astype(str)
    data = json.loads(clean.to_json(na="null", drop_id=True))
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def verdict_counts(frame: pd.DataFrame) -> dict[str, int]:
    counts = frame["verdict"].value_counts()
    return {v: int(counts.get(v, 0)) for v in ("within", "borderline", "outside", "unknown")}
