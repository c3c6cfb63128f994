"""The front door: each workflow of trialreach as one function, for notebooks, the CLI and the app.

>>> import trialreach
>>> answer = trialreach.check("44.06, -92.51", sites="resolution")   # doctest: +SKIP
>>> answer[["verdict", "drive_min", "nearest_site", "engine"]]        # doctest: +SKIP

Every function takes names or objects (a site-set name or a GeoDataFrame of sites, a rule preset
or a :class:`~geo.rules.ProximityRule`, an engine key or a :class:`~geo.routing.base.Router`),
keyword-only options, and returns GeoDataFrames (or typed results holding them) whose rows and
``.attrs`` say where the answer comes from: the rule, the engine and its road data, whether it is
an estimate, the site set, the geocoder and the trialreach version.

This layer (this module and :mod:`trialreach.workflows`, one module per concern) is the only one
that joins :mod:`geo` (the domain) and :mod:`sites` (site sets); the faces
(``trialreach.commands``, ``pages``, ``appkit``) parse input, call it and present.

Privacy: addresses are only held in memory. Nothing here logs or writes a place; ``.attrs`` never
holds an address (only counts, names of public things and how exact locations are).
"""

from __future__ import annotations

from geo.proximity import RESULT_COLUMNS
from trialreach.workflows.check import check, geocode, rank_sites, read_places
from trialreach.workflows.graphs import build_graph
from trialreach.workflows.inputs import (
    TABLE_SUFFIXES,
    EngineInput,
    PlacesInput,
    Progress,
    RuleInput,
    SitesInput,
    geocoder_choices,
    load_sites,
    locate,
    open_engine,
    open_geocoder,
    provenance,
    resolve_rule,
    resolve_settings,
    version,
)
from trialreach.workflows.lodging import covering_graphs, find_lodging, lodging_source, pick_site
from trialreach.workflows.planning import candidate_sites, coverage, read_population, suggest

__all__ = [
    "RESULT_COLUMNS",
    "TABLE_SUFFIXES",
    "EngineInput",
    "PlacesInput",
    "Progress",
    "RuleInput",
    "SitesInput",
    "build_graph",
    "candidate_sites",
    "check",
    "coverage",
    "covering_graphs",
    "find_lodging",
    "geocode",
    "geocoder_choices",
    "load_sites",
    "locate",
    "lodging_source",
    "open_engine",
    "open_geocoder",
    "pick_site",
    "provenance",
    "rank_sites",
    "read_places",
    "read_population",
    "resolve_rule",
    "resolve_settings",
    "suggest",
    "version",
]
