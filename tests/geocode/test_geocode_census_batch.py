"""The Census batch endpoint against a local stub speaking its protocol (multipart CSV in, CSV out).

One request per 10,000 addresses, never one per row; Match / Non_Exact / Tie / No_Match / a row
missing from the answer each named in its row, none dropped; 5xx retried with backoff then named.
"""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from geocode_stub import MAYO_ROCHESTER, Reply, StubGeocoder, census_batch_answer, km_between

from geo.errors import ValidationError
from geo.geocode import CENSUS_SOURCE, ZIP_SOURCE, Geocoder, zip_centroid
from geo.geocode.census_batch import (
    CENSUS_BATCH_MAX_ROWS,
    census_batch_request,
    parse_census_batch,
)
from geo.geocode.online import UnexpectedAnswer
from geo.places import locate_places
from geo.settings import Settings
from geo.types import LonLat, Precision

BATCH_PATH = "/geocoder/locations/addressbatch"
ONE_LINE_PATH = "/geocoder/locations/onelineaddress"
MAYO = "200 First St SW, Rochester, MN 55905"
MAYO_ECHO = "200 First St SW, Rochester, MN, 55905"
MAYO_MATCHED = "200 1ST ST SW, ROCHESTER, MN, 55905"

# An answer as the real service writes it (row order not kept; short No_Match/Tie lines).
REAL_SHAPE = (
    '"3","3 Gramercy Park West, New York, NY, 10003","Match","Exact",'
    '"3 GRAMERCY PARK W, NEW YORK, NY, 10003","-73.98658,40.738323","59653655","R"\n'
    '"2","79 Wistful Vista, Wistful Vista, IL, ","No_Match"\n'
    '"1","100 Main St, Springfield, , ","Tie"\n'
)


# ---- pure request and answer -------------------------------------------------------------------


def test_request_is_a_headerless_csv_file_with_the_benchmark() -> None:
    url, files, data = census_batch_request(
        "https://example.test/geocoder/",
        [("200 First St SW", "Rochester", "MN", "55905"), ("1 Main St, Apt 2", "", "", "")],
    )
    assert url == "https://example.test/geocoder/locations/addressbatch"
    assert data == {"benchmark": "Public_AR_Current"}
    name, body, mime = files["addressFile"]
    assert (name, mime) == ("addresses.csv", "text/csv")
    assert body.decode() == '1,200 First St SW,Rochester,MN,55905\n2,"1 Main St, Apt 2",,,\n'


def test_a_request_holds_at_most_10000_addresses() -> None:
    assert CENSUS_BATCH_MAX_ROWS == 10_000
    rows = [("1 Main St", "", "", "")] * (CENSUS_BATCH_MAX_ROWS + 1)
    with pytest.raises(ValidationError, match="1 to 10,000 addresses, not 10,001"):
        census_batch_request("https://example.test", rows)


def test_answer_is_read_by_id_in_any_order() -> None:
    answers = parse_census_batch(REAL_SHAPE + "\n")
    assert answers["3"].status == "Match" and answers["3"].exact
    assert answers["3"].point == LonLat(-73.98658, 40.738323)
    assert answers["3"].matched == "3 GRAMERCY PARK W, NEW YORK, NY, 10003"
    assert answers["2"].status == "No_Match" and answers["2"].point is None
    assert answers["1"].status == "Tie" and answers["1"].point is None


@pytest.mark.parametrize(
    "line",
    [
        '"1","x","Matched"',  # unknown status
        '"1","x","Match","Exact","X","-73.9","1","R"',  # no "lon,lat" pair
        '"1","x","Match","Exact","X","-273.9,40.7","1","R"',  # out of range
        "<html>Service Unavailable</html>",
    ],
)
def test_an_answer_in_another_shape_is_refused(line: str) -> None:
    with pytest.raises(UnexpectedAnswer) as info:
        parse_census_batch(line)
    assert "x" not in str(info.value).replace("unexpected", "").replace("without", "")


# ---- through the geocoder --------------------------------------------------------------------


def test_every_status_is_named_in_its_row_and_no_row_dropped(
    stub: StubGeocoder, census_settings: Settings
) -> None:
    answer = census_batch_answer(
        {
            MAYO_ECHO: (-92.46695, 44.02246, MAYO_MATCHED),
            "210 2nd St SW, Rochester, MN, 55902": (-92.4660, 44.0210, "210 2ND ST SW"),
        },
        ties=frozenset({"100 Main St, Rochester, MN, 55902"}),
        non_exact=frozenset({"210 2nd St SW, Rochester, MN, 55902"}),
        drop=frozenset({"5 Lost Rd, Rochester, MN, 55904"}),
    )
    stub.script(BATCH_PATH, Reply(200, answer))
    table = pd.DataFrame(
        {
            "address": [
                MAYO,
                "100 Main St, Rochester, MN 55902",  # Tie
                "1 Nowhere Rd, Rochester, MN 55901",  # No_Match
                "44.0225, -92.4668",  # coordinates: never sent
                "210 2nd St SW, Rochester, MN 55902",  # Non_Exact
                "5 Lost Rd, Rochester, MN 55904",  # no line in the answer
                "1 Nowhere Rd, Springfield",  # No_Match, nothing offline
                "Hershey PA",  # a town: never sent
            ]
        },
        index=[10, 11, 12, 13, 14, 15, 16, 17],
    )
    out = locate_places(table, Geocoder(census_settings))
    assert list(out.index) == list(table.index)
    (call,) = stub.calls(BATCH_PATH)
    sent = call["files"]["addressFile"].splitlines()
    assert len(sent) == 6  # not the coordinates, not the town
    assert stub.calls(ONE_LINE_PATH) == []

    mayo = out.loc[10]
    assert (mayo["precision"], mayo["geocode_source"], mayo["error"]) == (
        "address",
        CENSUS_SOURCE,
        "",
    )
    assert km_between((mayo["lon"], mayo["lat"]), MAYO_ROCHESTER) < 0.1

    tie = out.loc[11]
    assert tie["precision"] == "zip" and tie["geocode_source"] == ZIP_SOURCE
    assert tie["geocode_note"].startswith(
        "U.S. Census Geocoder found several equally good matches (a tie) and chose none; "
        "ZIP centroid of 55902"
    )
    assert (tie["lon"], tie["lat"]) == zip_centroid("55902").point.as_tuple()

    no_match = out.loc[12]
    assert no_match["geocode_note"].startswith(
        "U.S. Census Geocoder found no match; ZIP centroid of 55901"
    )
    assert out.loc[13, "precision"] == "coordinates"
    assert out.loc[14, "precision"] == "address"
    assert out.loc[14, "geocode_note"] == "non-exact match — check the matched address"
    assert out.loc[15, "geocode_note"].startswith(
        "U.S. Census Geocoder gave no answer for this address; ZIP centroid of 55904"
    )
    nothing = out.loc[16]
    assert pd.isna(nothing["lon"]) and nothing.geometry is None
    assert nothing["error"].startswith(
        "row 7: U.S. Census Geocoder found no match; Springfield: 27 places"
    )
    assert out.loc[17, "precision"] == "city"


def test_one_request_per_10000_addresses(stub: StubGeocoder, census_settings: Settings) -> None:
    stub.script(BATCH_PATH, Reply(200, census_batch_answer({})))
    texts = [f"{n} Main St, Rochester, MN 55902" for n in range(1, CENSUS_BATCH_MAX_ROWS + 3)]
    texts += texts[:5]  # repeats are sent once
    seen: list[int] = []
    results = Geocoder(census_settings).geocode_many(texts, progress=seen.append)
    calls = stub.calls(BATCH_PATH)
    assert [len(c["files"]["addressFile"].splitlines()) for c in calls] == [10_000, 2]
    assert len(results) == len(texts)
    assert all(getattr(r, "precision", None) is Precision.ZIP for r in results)
    assert seen == [10_005, 10_007] == [10_005, len(texts)]  # repeats done with their first


def test_5xx_is_retried_with_backoff(stub: StubGeocoder, census_settings: Settings) -> None:
    answer = census_batch_answer({MAYO_ECHO: (-92.46695, 44.02246, MAYO_MATCHED)})
    stub.script(BATCH_PATH, Reply(503, {"error": "busy"}), Reply(502, None), Reply(200, answer))
    results = Geocoder(census_settings).geocode_many([MAYO, "55902"])
    assert len(stub.calls(BATCH_PATH)) == 3  # census_settings: 2 retries
    assert getattr(results[0], "precision", None) is Precision.ADDRESS


def test_5xx_after_the_retries_is_named_and_every_row_falls_back(
    stub: StubGeocoder, census_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stub.script(BATCH_PATH, Reply(503, {"error": f"cannot geocode {MAYO}"}))
    g = Geocoder(census_settings)
    texts = [MAYO, "4217 Quillfeather Lane, Rochester, MN 55902"]
    results = g.geocode_many(texts)
    assert len(stub.calls(BATCH_PATH)) == 3
    for r in results:
        assert getattr(r, "precision", None) is Precision.ZIP
        assert r.note.startswith("U.S. Census Geocoder unavailable (")  # type: ignore[union-attr]
        assert "503" in r.note  # type: ignore[union-attr]
    # the service is not asked again for a while; the fallback was not cached
    again = g.geocode_many(texts)
    assert len(stub.calls(BATCH_PATH)) == 3
    assert again[0].note == results[0].note  # type: ignore[union-attr]
    assert g.cache_info().size == 0
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "unavailable" in logged and "/locations/addressbatch" in logged
    for text in texts:
        assert text not in logged and "Quillfeather" not in logged and "200 First" not in logged


def test_a_table_of_zip_codes_sends_nothing(stub: StubGeocoder, census_settings: Settings) -> None:
    stub.script(BATCH_PATH, Reply(200, census_batch_answer({})))
    located = locate_places(pd.DataFrame({"address": ["55905"]}), Geocoder(census_settings))
    assert located.loc[0, "precision"] == "zip"
    assert stub.requests == []  # a ZIP code alone is never sent anywhere
