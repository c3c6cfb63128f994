"""The one CSV writer: every table trialreach writes goes through :func:`write_csv`.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a
tab or carriage return) as a formula, so a place, site or lodging name taken from an uploaded
file or from ClinicalTrials.gov could run a formula on the machine of whoever opens the export
(OWASP "CSV injection"). :func:`formula_safe` prefixes such text cells with a single quote, which
spreadsheets show as text. Real numbers stay numbers: numeric columns are never touched, and a
text cell that is a plain decimal number (``-92.4668``, ``+1e3``) is left as it is.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd
from pandas.api.types import is_numeric_dtype

if TYPE_CHECKING:
    import geopandas as gpd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection)."""

_RISKY_START = re.compile(r"^[ \u00a0]*[=+\-@\t\r\n\uff1d\uff0b\uff0d\uff20]")
# Full-width = + - @ are included: some spreadsheets normalise them to the ASCII ones.
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def neutralise(value: Any) -> Any:
    """One cell made formula-safe: risky text gets a leading ``'``; anything else unchanged.

    Parameters
    ----------
    value
        A cell value. Only ``str`` values can change.

    Returns
    -------
    Any
        ``"'" + value`` when ``value`` is text starting (after spaces) with a formula character
        and is not a plain decimal number; otherwise ``value`` itself.
    """
    if isinstance(value, str) and _RISKY_START.match(value) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def _safe_series(column: pd.Series) -> pd.Series:
    if is_numeric_dtype(column.dtype) or str(column.dtype) in ("bool", "boolean"):
        return column
    if str(column.dtype) == "geometry":
        return column
    text = column.astype("string")
    is_text = column.map(lambda v: isinstance(v, str)).astype(bool)
    risky = (
        is_text
        & text.str.match(_RISKY_START.pattern, na=False).astype(bool)
        & ~text.str.match(_PLAIN_NUMBER.pattern, na=False).astype(bool)
    )
    if not risky.any():
        return column
    out = column.astype(object).copy()
    out[risky] = "'" + text[risky].astype(object)
    return out


def formula_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot run as spreadsheet formulas.

    Parameters
    ----------
    frame
        Any table. Numeric, boolean and geometry columns are kept as they are.

    Returns
    -------
    pandas.DataFrame
        Same shape, index and column order; risky text cells prefixed with ``'``.
    """
    out = pd.DataFrame(frame).copy()
    for i in range(out.shape[1]):
        out.isetitem(i, _safe_series(out.iloc[:, i]).to_numpy())
    out.columns = pd.Index([neutralise(c) for c in out.columns])
    if out.index.name is not None:
        out.index.name = neutralise(out.index.name)
    if not is_numeric_dtype(out.index.dtype):
        out.index = pd.Index(_safe_series(pd.Series(out.index, dtype=object)).to_numpy())
        out.index.name = neutralise(frame.index.name)
    return out


def write_csv(
    frame: pd.DataFrame,
    target: str | Path | IO[str],
    *,
    index: bool = False,
    float_format: str | None = None,
) -> None:
    """Write ``frame`` as UTF-8 CSV, formula-safe (see module docs).

    Parameters
    ----------
    frame
        The table. A GeoDataFrame's geometry is written as WKT, as pandas does.
    target
        A path or a text buffer (opened with ``newline=""``).
    index
        Write the index as the first column.
    float_format
        Passed to :meth:`pandas.DataFrame.to_csv` (e.g. ``"%.6f"`` for coordinates).
    """
    # CRLF line ends (RFC 4180) make the csv module quote every cell holding a CR or LF, so a
    # stray carriage return in a name cannot split a row in two.
    formula_safe(frame).to_csv(
        target, index=index, float_format=float_format, lineterminator="\r\n"
    )


def csv_bytes(
    frame: pd.DataFrame, *, index: bool = False, float_format: str | None = None
) -> bytes:
    """The formula-safe CSV of ``frame`` as UTF-8 bytes (for downloads)."""
    buf = io.StringIO()
    write_csv(frame, buf, index=index, float_format=float_format)
    return buf.getvalue().encode("utf-8")


GEOJSON_SUFFIXES = (".geojson", ".json")
CSV_SUFFIXES = (".csv", ".txt", "")


def write_frame(frame: gpd.GeoDataFrame, path: Path) -> None:
    """The one GeoDataFrame exporter: GeoJSON for ``.geojson``/``.json``, else formula-safe CSV.

    Parameters
    ----------
    frame
        The rows to write; any CRS (GeoJSON is written in EPSG:4326).
    path
        ``.geojson``/``.json``: GeoJSON (nullable booleans become ``null``). ``.csv``/``.txt``
        or no suffix: CSV (:func:`write_csv`) without the geometry, with ``lon``/``lat``
        columns (degrees, 6 decimals) of each point — a representative point for lines and
        polygons; empty where there is no geometry.

    Raises
    ------
    ValidationError
        Any other suffix.
    """
    import geopandas as gpd

    from geo.errors import ValidationError

    suffix = path.suffix.lower()
    if suffix not in GEOJSON_SUFFIXES + CSV_SUFFIXES:
        raise ValidationError(f"{path.name}: write .csv or .geojson")
    out = frame.copy()
    for col in out.columns:
        if col != out.geometry.name and str(out[col].dtype) == "boolean":
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    if out.crs is not None:
        out = out.to_crs("EPSG:4326")
    if suffix in GEOJSON_SUFFIXES:
        path.write_text(out.to_json(na="null", drop_id=True), encoding="utf-8")
        return
    pts = out.geometry
    not_point = (pts.geom_type != "Point").to_numpy() & pts.notna().to_numpy()
    if not_point.any():
        pts = gpd.GeoSeries(pts.where(~not_point, pts.representative_point()), crs=pts.crs)
    table = pd.DataFrame(out.drop(columns=out.geometry.name))
    table["lon"] = pts.x.round(6).to_numpy()
    table["lat"] = pts.y.round(6).to_numpy()
    write_csv(table, path)
