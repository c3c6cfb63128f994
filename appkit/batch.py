"""Batch lodging check: a table of places → one verdict row per input row (none dropped)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.export import csv_bytes
from geo.places import PLACE_COLUMNS, PointGeocoder
from geo.routing import Router
from geo.rules import ProximityRule
from trialreach.api import RESULT_COLUMNS
from trialreach.api import check as check_places

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

    The check itself is :func:`trialreach.api.check` (which reads the file, replaces the
    answers of an earlier results file and locates every row); this arranges its answer for
    the page. Returns the display columns (:data:`TABLE_COLUMNS`) plus every input column,
    ``lon``/``lat``, the full verdict columns and the point geometry (empty where a row could
    not be located). Raises :class:`~geo.errors.ValidationError` when the file as a whole cannot
    be read.
    """
    answer = check_places(
        source,
        name=filename,
        sites=sites,
        rule=rule,
        engine=router,
        geocoder=geocoder,
        progress=progress,
    )
    out = pd.DataFrame(
        {
            "row": np.arange(1, len(answer) + 1),
            "place": answer["place"].astype(str).to_numpy(),
            "verdict": answer["verdict"].to_numpy(),
            "drive_min": answer["drive_min"].to_numpy(),
            "spare_min": answer["spare_min"].to_numpy(),
            "nearest_site": answer["nearest_site"].to_numpy(),
            "precision": answer["precision"].astype(str).to_numpy(),
            "message": _messages(answer),
        },
        index=answer.index,
    )
    ours = {*out.columns, "lon", "lat", "nearest_site_id", "basis", "engine", "reason", "geometry"}
    theirs = [
        c
        for c in answer.columns
        if c not in (*PLACE_COLUMNS, *RESULT_COLUMNS) and c != answer.geometry.name
    ]
    # The user's columns are kept as typed; a name we also use gets an ``input_`` prefix.
    extra = pd.DataFrame(answer[theirs]).rename(
        columns={c: f"input_{c}" for c in theirs if c in ours}
    )
    full = pd.concat(
        [
            out,
            extra,
            pd.DataFrame(answer[["lon", "lat", "nearest_site_id", "basis", "engine", "reason"]]),
        ],
        axis=1,
    )
    frame = gpd.GeoDataFrame(full, geometry=answer.geometry.to_numpy(), crs="EPSG:4326")
    frame.attrs["read_notes"] = tuple(answer.attrs.get("read_notes", ()))
    frame.attrs["replaced_columns"] = tuple(answer.attrs.get("replaced_columns", ()))
    frame.attrs["partial"] = bool(answer.attrs.get("partial", False))
    frame.attrs["faults"] = tuple(answer.attrs.get("faults", ()))
    return frame


def _messages(answer: pd.DataFrame) -> np.ndarray:
    """One message per row: why it could not be located, else the verdict's reason, else the
    geocoder's note."""
    error = answer["error"].fillna("").astype(str).to_numpy(dtype=object)
    reason = answer["reason"].fillna("").astype(str).to_numpy(dtype=object)
    note = answer["geocode_note"].fillna("").astype(str).to_numpy(dtype=object)
    msg = np.where(error != "", error, reason)
    msg = np.where((msg == "") & (note != ""), note, msg)
    return msg.astype(str)


NO_VALUE = "—"
"""Shown in a table cell that has no number (an unknown row's drive time and minutes to spare)."""


def whole_minutes_text(values: np.ndarray | pd.Series) -> np.ndarray:
    """Minutes as whole-number text, :data:`NO_VALUE` where there is no finite value.

    Streamlit's table shows a missing number as "None"; the batch table shows these columns as
    text instead (the downloads keep the numbers). ``-0.4`` reads ``0``, never ``-0``.
    """
    x = np.asarray(values, dtype=float)
    finite = np.isfinite(x)
    whole = (np.round(np.where(finite, x, 0.0)) + 0.0).astype(np.int64)
    return np.where(finite, whole.astype(str), NO_VALUE).astype(object)


def table_view(result: pd.DataFrame, estimated: np.ndarray) -> pd.DataFrame:
    """The batch table as shown: :data:`TABLE_COLUMNS` with an ``answer`` column (routed,
    ESTIMATE or :data:`NO_VALUE`) after the verdict, and minutes as text
    (:func:`whole_minutes_text`).

    Parameters
    ----------
    result
        :func:`run_batch`'s frame.
    estimated
        Per row, whether the estimate answered it (``geo.mapping.estimated_mask``).
    """
    table = pd.DataFrame(result[TABLE_COLUMNS]).copy()
    table.insert(
        3,
        "answer",
        np.where(
            np.asarray(estimated, dtype=bool),
            "ESTIMATE · not routed",
            np.where(result["engine"].astype(str).to_numpy() != "", "routed", NO_VALUE),
        ),
    )
    for col in ("drive_min", "spare_min"):
        table[col] = whole_minutes_text(table[col].to_numpy())
    return table


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
