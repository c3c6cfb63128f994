"""Text made safe for tooltips and popups (HTML inside a JavaScript template literal)."""

from __future__ import annotations

import html
import json
import math

from geo.wording import format_minutes

_TEMPLATE_LITERAL = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})
"""Characters that mean something inside a JavaScript template literal, as HTML entities."""


def esc(value: object) -> str:
    """Text made safe for a tooltip or popup (None/NaN → empty).

    Folium puts tooltip and popup content inside JavaScript template literals (`` `…` ``)
    that Leaflet then renders as HTML, so the text is escaped for both contexts: HTML
    (``< > & " '``) and the template literal (backtick, ``$`` of ``${…}``, backslash), the latter
    as HTML character references, which the browser shows as the characters themselves.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True).translate(_TEMPLATE_LITERAL)


def _contour_label(minutes: float) -> str:
    if float(minutes) % 60 == 0:
        hours = int(minutes // 60)
        return f"within {hours} hour{'s' if hours != 1 else ''} by car"
    return f"within {format_minutes(minutes)} by car"


def js_json(value: object) -> str:
    """JSON safe inside a ``<script>`` element (``< > &`` as ``\\u`` escapes, so no text in it
    can close the element or open a comment)."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
