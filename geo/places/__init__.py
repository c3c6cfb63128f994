"""Tables of places (lodgings, homes, sites): which columns hold what; row-level parsing.

Shared by the site loader (strict: any bad row stops the load with every problem listed) and the
batch check (lenient: a bad row becomes an ``unknown`` row with its own message; none is dropped).

One module per concern: :mod:`~geo.places.tables` (reading a CSV: encoding, separator),
:mod:`~geo.places.columns` (which columns hold coordinates or address text),
:mod:`~geo.places.coordinates` (range and swapped-column checks, vectorised) and
:mod:`~geo.places.locate` (rows to points, geocoding the addresses). Every public name is
importable from ``geo.places``.
"""

from geo.places.columns import (
    ADDRESS_NAMES,
    ADDRESS_PARTS,
    LAT_NAMES,
    LON_NAMES,
    ColumnMap,
    detect_columns,
    is_blank,
    join_address,
    parse_number,
)
from geo.places.coordinates import (
    ObjectArray,
    coordinate_problem,
    coordinate_problems,
    in_us_many,
)
from geo.places.locate import (
    PLACE_COLUMNS,
    PointGeocoder,
    locate_places,
    locate_row,
    point_from_row,
)
from geo.places.tables import (
    DELIMITERS,
    as_text_source,
    decode_text,
    read_table,
    sniff_delimiter,
    without_columns,
)

__all__ = [
    "ADDRESS_NAMES",
    "ADDRESS_PARTS",
    "DELIMITERS",
    "LAT_NAMES",
    "LON_NAMES",
    "PLACE_COLUMNS",
    "ColumnMap",
    "ObjectArray",
    "PointGeocoder",
    "as_text_source",
    "coordinate_problem",
    "coordinate_problems",
    "decode_text",
    "detect_columns",
    "in_us_many",
    "is_blank",
    "join_address",
    "locate_places",
    "locate_row",
    "parse_number",
    "point_from_row",
    "read_table",
    "sniff_delimiter",
    "without_columns",
]
