"""Text to point: coordinates, ZIP centroids, city centroids and street addresses.

What a piece of text becomes, in this order:

1. ``"lat, lon"`` literals (``"44.0225, -92.4668"``, ``"44.0225 -92.4668"``,
   ``"44°01′21″N 92°28′00″W"``) → :attr:`Precision.COORDINATES`. A pair written the wrong way
   round is read as ``lon, lat`` only when that is unambiguous for a U.S. product (the order as
   written is impossible, or lies outside the United States while the swapped order lies inside);
   the result's ``note`` says so. Out-of-range pairs raise :class:`GeocodeError`.
2. A bare ZIP code (``"55902"`` or ``"55902-1234"``) → its centroid, offline, from the gazetteer of
   the ``zipcodes`` package (GeoNames-derived) → :attr:`Precision.ZIP`.
3. A place name alone, with or without its state (``"Hershey PA"``, ``"Saint Paul, Minnesota"``,
   ``"Hummelstown"``) → the town's centroid from the same gazetteer, offline, never sent to an
   online geocoder → :attr:`Precision.CITY`. A name found in one state only resolves there, the
   state inferred and said in the note; a name found in several states is refused with the
   candidates ("Springfield: 25 places in different states — add the state, e.g.
   'Springfield, MO'"), never picked silently (:mod:`geo.geocode.towns`).
4. Anything else is an address. With ``Settings.geocoder == "census"`` it goes to the U.S. Census
   Geocoder (free, no key); with ``"ors"`` (and an ORS key or a self-hosted URL) to the
   openrouteservice geocoder → :attr:`Precision.ADDRESS`. Offline (the default: nothing leaves
   the machine), or when the online geocoder finds no match or cannot be reached, the address is
   parsed (``usaddress`` plus a few rules) and located at the centroid of its ZIP code
   (:attr:`Precision.ZIP`), else of its city and state (:attr:`Precision.CITY`: the mean of the
   gazetteer's ZIP centroids for that city). Such results are approximate and their ``note`` says
   what they rest on.

Which geocoder to use is the user's choice: :data:`GEOCODER_CHOICES` names each with what it
finds and its privacy consequence in one line (for the app's chooser).

Privacy: the text of an address is never logged, never written to disk and never put into an
error message (a ZIP code may be). Answers are cached in memory only (an LRU per
:class:`Geocoder`). Query strings are stripped from ``urllib3``'s debug log records, which would
otherwise print the request URL, address included.

When an online geocoder cannot be reached (timeout, connection refused, HTTP 5xx after retries,
bad key), the address falls back to the offline centroid with a note that says why, and the
geocoder is not asked again for :attr:`Geocoder.online_retry_after_s` seconds, so a batch does
not wait out the retries for every row. The fallback is never cached, so a later call gets the
street-level answer once the service is back.
"""

from geo.geocode.choices import (
    GEOCODER_CHOICES,
    GeocoderChoice,
    geocoder_choice,
    geocoder_choices,
)
from geo.geocode.gazetteer import (
    CITY_SOURCE,
    PLACE_SOURCE,
    ZIP_SOURCE,
    city_centroid,
    zip_centroid,
)
from geo.geocode.geocoder import GEOCODERS, CacheInfo, Geocoder, geocode
from geo.geocode.literals import parse_latlon
from geo.geocode.online import CENSUS_SOURCE
from geo.geocode.us import STATE_NAMES

__all__ = [
    "CENSUS_SOURCE",
    "CITY_SOURCE",
    "GEOCODERS",
    "GEOCODER_CHOICES",
    "PLACE_SOURCE",
    "STATE_NAMES",
    "ZIP_SOURCE",
    "CacheInfo",
    "Geocoder",
    "GeocoderChoice",
    "city_centroid",
    "geocode",
    "geocoder_choice",
    "geocoder_choices",
    "parse_latlon",
    "zip_centroid",
]
