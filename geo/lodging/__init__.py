"""Lodging near a study site: OpenStreetMap hotels and hospitality houses, ranked by drive time.

Coordinators arranging a 35-day stay look for places to put a patient and a caregiver. This
module

* extracts lodging from OpenStreetMap extracts with pyosmium (:func:`extract_lodging`), and keeps
  it next to a local road graph (:func:`lodging_for_graph`) or in the cache
  (:func:`lodging_from_pbfs`);
* ranks candidates by the drive *from the lodging to the site* under a proximity rule
  (:func:`find_lodging`, :func:`search_lodging`).

What counts as lodging (extraction rule, version :data:`EXTRACT_VERSION`)
--------------------------------------------------------------------------
Nodes and **closed** ways (the centroid of the ring is used) that carry either

1. ``tourism`` = ``hotel``, ``motel``, ``guest_house``, ``hostel``, ``apartment`` or ``chalet``
   → ``kind`` is that value; or
2. a *hospitality house* for patients and families → ``kind = "hospitality_house"``, when

   * the ``name`` (or ``operator``/``brand``) contains one of :data:`HOSPITALITY_NAMES`
     ("Hope Lodge", "Ronald McDonald House", "Fisher House", "Hospitality House",
     "Family House", "Patient House", "Healing House", "Hospital Lodge"), and the feature
     is not a road, shop, office or food place; or
   * ``amenity=social_facility`` with ``social_facility:for`` naming patients or their
     families (:data:`SOCIAL_FACILITY_FOR`: ``patient``, ``patients``, ``ill``, ``family``,
     ``families``).

   Rule 2 wins over rule 1: a Hope Lodge tagged ``tourism=guest_house`` is a hospitality house,
   because who may stay there matters.

Not extracted, but counted in :class:`LodgingExtract`: open (unclosed) ways with such tags, and
relations (multipolygon hotels are rare; resolving their rings needs a sorted file and a
second pass). Features without a name are **kept**, labelled by kind and street ("hotel on
Front Street", :mod:`~geo.lodging.labels`; where several share a street label each adds its
coordinates) — a tagged hotel building is still a hotel a coordinator can look up — and counted
in ``unnamed``.

Eligibility notes
-----------------
Some houses restrict who may stay (:data:`ELIGIBILITY`): American Cancer Society Hope Lodges
serve people in cancer treatment, Ronald McDonald Houses families of children in treatment,
Fisher Houses military and veteran families. The note is shown; it never filters and never
guesses about a person. For a rule whose patients are known not to belong to the group
(:data:`RULE_POPULATIONS`, e.g. RESOLUTION: lupus, myositis, systemic sclerosis), the note
says so.

OpenStreetMap lodging data is incomplete and varies by area (:data:`OSM_NOTICE`): show that line
wherever candidates are shown.

One concern per module: :mod:`~geo.lodging.catalogue` (what counts as lodging, eligibility),
:mod:`~geo.lodging.extract` (reading OSM extracts), :mod:`~geo.lodging.labels` (names for
unnamed places), :mod:`~geo.lodging.store` (kept next to a graph or in the cache),
:mod:`~geo.lodging.search` (ranking by drive time), :mod:`~geo.lodging.result` (the answer and
its counts) and :mod:`~geo.lodging.phones` (US phones written ``(614) 280-1234``). The package
exports the documented entry points; everything else is imported from its module.
"""

from __future__ import annotations

from geo.lodging.search import find_lodging, search_lodging
from geo.lodging.store import lodging_for_graph, lodging_from_pbfs

__all__ = ["find_lodging", "lodging_for_graph", "lodging_from_pbfs", "search_lodging"]
