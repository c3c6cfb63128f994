"""Regenerate ``us_states.csv`` from the us-atlas state shapes (run from the checkout root).

    python data/geofabrik/make_us_states.py

Names and FIPS codes come from ``data/boundaries/states-10m.json``; the Geofabrik path is
``north-america/us/<slug>-latest.osm.pbf`` with the slug Geofabrik uses (the lower-case name with
hyphens; ``us-virgin-islands`` for the Virgin Islands). American Samoa, Guam and the Northern
Mariana Islands are left out: Geofabrik has no extract of their own (only ``american-oceania``).
"""

from __future__ import annotations

from pathlib import Path

from geo.osm.geofabrik import state_index_from_boundaries

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    frame = state_index_from_boundaries(HERE.parent / "boundaries" / "states-10m.json")
    frame.to_csv(HERE / "us_states.csv", index=False, float_format="%.3f")
    print(f"wrote {len(frame)} rows to {HERE / 'us_states.csv'}")
