"""The shipped population files against the published 2020 Census counts (not against themselves).

Published (U.S. Census Bureau, 2020 Census, April 1, 2020): resident population of the 50 states
and DC 331,449,281; Puerto Rico 3,285,874. See data/README.md for why the ZCTA file differs.
"""

from __future__ import annotations

from geo.population import load_counties, load_zctas

US_2020 = 331_449_281  # 50 states + DC, 2020 Census apportionment release
PR_2020 = 3_285_874  # Puerto Rico, 2020 Census


def test_county_file_is_the_2020_census_count() -> None:
    counties = load_counties()
    assert counties["population"].sum() == US_2020 + PR_2020
    pr = counties.loc[counties["unit_id"].str.startswith("72"), "population"].sum()
    assert pr == PR_2020


def test_zcta_file_is_a_later_estimate_and_the_gap_is_explained() -> None:
    zctas = load_zctas()
    total = int(zctas["population"].sum())
    assert total - (US_2020 + PR_2020) == 820_355  # the difference data/README.md explains
    by_state = zctas.groupby("state")["population"].sum()
    counties = load_counties().groupby("state")["population"].sum()
    delta = (by_state - counties).dropna()
    # Not overlap (that would only add people): the file moves people between states, as
    # post-2020 estimates do.
    assert delta["TX"] > 400_000 and delta["FL"] > 300_000
    assert delta["NY"] < -400_000 and delta["CA"] < -250_000
    assert by_state["PR"] == 3_254_885
