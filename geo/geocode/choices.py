"""The geocoders a user can choose, each with what it finds and its privacy consequence.

For the faces (the app's geocoder choice, the CLI's help): one line each, in plain words.
:func:`geocoder_choices` lists the ones usable with the given settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.settings import Settings, get_settings

__all__ = ["GEOCODER_CHOICES", "GeocoderChoice", "geocoder_choice", "geocoder_choices"]


@dataclass(frozen=True)
class GeocoderChoice:
    """One geocoder a user can pick.

    Attributes
    ----------
    key
        The value of ``Settings.geocoder`` (``offline``, ``census``, ``ors``).
    label
        Its name for a chooser.
    finds
        What a street address becomes with it (one line).
    privacy
        Where the text typed goes (one line): the consequence of choosing it.
    needs
        What must be configured first ("" when nothing).
    """

    key: str
    label: str
    finds: str
    privacy: str
    needs: str = ""


GEOCODER_CHOICES: tuple[GeocoderChoice, ...] = (
    GeocoderChoice(
        key="offline",
        label="Offline (ZIP code and town centres)",
        finds=(
            "coordinates exactly; a street address only at the centre of its ZIP code or town "
            "(a few km off), and the answer says so"
        ),
        privacy="Nothing leaves this computer.",
    ),
    GeocoderChoice(
        key="census",
        label="U.S. Census Geocoder (street level)",
        finds=(
            "a street address at its place on the street; ZIP codes, town names and "
            "coordinates are still read offline"
        ),
        privacy=(
            "Each street address is sent over the internet to the U.S. Census Bureau's public "
            "geocoder (geocoding.geo.census.gov); nothing else is sent."
        ),
    ),
    GeocoderChoice(
        key="ors",
        label="openrouteservice geocoder (street level)",
        finds=(
            "a street address or a named venue; ZIP codes, town names and coordinates are "
            "still read offline"
        ),
        privacy=(
            "Each street address is sent over the internet to openrouteservice (HeiGIT), with "
            "your API key."
        ),
        needs="an openrouteservice API key (ORS_API_KEY) or a self-hosted ORS_BASE_URL",
    ),
)
"""Every geocoder, offline first (the default)."""


def geocoder_choice(key: str) -> GeocoderChoice:
    """The choice for a ``Settings.geocoder`` value; ``KeyError`` for an unknown one."""
    for choice in GEOCODER_CHOICES:
        if choice.key == key.strip().lower():
            return choice
    raise KeyError(key)


def geocoder_choices(settings: Settings | None = None) -> tuple[GeocoderChoice, ...]:
    """The choices usable with ``settings``: openrouteservice only when it is configured."""
    s = settings or get_settings()
    return tuple(c for c in GEOCODER_CHOICES if c.key != "ors" or s.ors_configured)
