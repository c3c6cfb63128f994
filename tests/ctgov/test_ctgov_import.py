"""ClinicalTrials.gov import against a local stub of the API v2 (offline)."""

from __future__ import annotations

import math
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from geo._http import HttpClient
from geo.errors import NetworkError, NotFoundError, ValidationError
from geo.settings import Settings
from sites.ctgov import (
    ACTIVE_STATUSES,
    SITE_COLUMNS,
    ImportResult,
    fetch_study,
    import_sites,
    normalize_nct_id,
    study_sites,
    write_sites_csv,
)

from .stub_ctgov import RESOLUTION, RESOLUTION_NCT, RESOLUTION_TITLE, CtgovStub

RECENT = {date.today(), date.today() - timedelta(days=1)}  # a run that crosses midnight


# --- study number ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("NCT07085104", "NCT07085104"),
        (" nct07085104\n", "NCT07085104"),
        ("Nct00000001", "NCT00000001"),
    ],
)
def test_study_number_is_trimmed_and_upper_cased(raw: str, expected: str) -> None:
    assert normalize_nct_id(raw) == expected


@pytest.mark.parametrize(
    "bad", ["", "NCT123", "07085104", "NCT070851045", "NCX07085104", "NCT 07085104", "NCT0708510A"]
)
def test_malformed_study_number_is_refused_before_any_request(
    bad: str, stub: CtgovStub, ctgov_settings: Settings
) -> None:
    with pytest.raises(ValidationError) as err:
        import_sites(bad, settings=ctgov_settings)
    assert "'NCT' followed by 8 digits" in str(err.value)
    assert repr(bad) in str(err.value)
    assert stub.paths == []


# --- the RESOLUTION study -------------------------------------------------------------------


def test_resolution_keeps_recruiting_and_active_sites(
    stub: CtgovStub, ctgov_settings: Settings
) -> None:
    result = import_sites(" nct07085104 ", settings=ctgov_settings)

    assert stub.paths == [f"/api/v2/studies/{RESOLUTION_NCT}"]
    assert isinstance(result, ImportResult)
    assert result.nct_id == RESOLUTION_NCT
    assert result.title == RESOLUTION_TITLE
    assert (result.n_total, result.n_kept, result.n_without_coordinates) == (4, 3, 1)
    assert result.n_filtered == 1
    assert result.filtered_by_status == {"completed": 1}
    assert result.retrieved in RECENT

    sites = result.sites
    assert list(sites.columns) == list(SITE_COLUMNS)
    assert list(sites.index) == [0, 1, 2]
    assert list(sites["site_id"]) == [
        f"{RESOLUTION_NCT}-001",
        f"{RESOLUTION_NCT}-002",
        f"{RESOLUTION_NCT}-004",
    ]
    assert list(sites["name"]) == [
        "Mayo Clinic",
        "Dana-Farber Cancer Institute",
        "Colorado Blood Cancer Institute",
    ]
    assert list(sites["institution"]) == list(sites["name"])
    assert list(sites["status"]) == ["recruiting", "not_yet_recruiting", "recruiting"]
    assert list(sites["city"]) == ["Rochester", "Boston", "Denver"]
    assert list(sites["state"]) == ["MN", "MA", "CO"]  # spelled out by CT.gov, USPS codes here
    assert list(sites["zip"]) == ["55905", "02215", "80218"]  # leading zero kept
    assert set(sites["country"]) == {"United States"}
    assert set(sites["address"]) == {""}  # CT.gov publishes no street address

    mayo = sites.iloc[0]
    assert mayo["lat"] == pytest.approx(44.02163)
    assert mayo["lon"] == pytest.approx(-92.4699)
    assert mayo["coord_precision"] == "city"
    assert mayo["note"] == ""
    assert (
        mayo["source"]
        == f"ClinicalTrials.gov {RESOLUTION_NCT}, retrieved {result.retrieved.isoformat()}"
    )

    denver = sites.iloc[2]
    assert math.isnan(denver["lat"]) and math.isnan(denver["lon"])
    assert denver["coord_precision"] == ""
    assert "no coordinates on ClinicalTrials.gov" in denver["note"]


def test_include_all_keeps_closed_sites_with_stable_ids(ctgov_settings: Settings) -> None:
    result = import_sites(RESOLUTION_NCT, include_all=True, settings=ctgov_settings)

    assert (result.n_total, result.n_kept, result.n_filtered) == (4, 4, 0)
    assert result.filtered_by_status == {}
    sites = result.sites
    assert list(sites["site_id"]) == [f"{RESOLUTION_NCT}-{i:03d}" for i in (1, 2, 3, 4)]
    completed = sites.iloc[2]
    assert completed["name"] == "City of Hope Comprehensive Cancer Center"
    assert completed["status"] == "completed"
    assert (completed["state"], completed["zip"]) == ("CA", "91010")
    assert completed["lat"] == pytest.approx(34.13945)
    assert completed["lon"] == pytest.approx(-117.97729)


def test_summary_says_what_was_kept_and_left_out(ctgov_settings: Settings) -> None:
    text = import_sites(RESOLUTION_NCT, settings=ctgov_settings).summary()
    assert text.startswith(f"{RESOLUTION_NCT} ({RESOLUTION_TITLE}): 3 of 4 sites kept")
    assert "1 left out (1 completed; use --all to keep them)" in text
    assert "1 without coordinates" in text
    assert "city centres" in text


def test_written_csv_reads_back_with_the_same_sites(
    ctgov_settings: Settings, tmp_path: Path
) -> None:
    result = import_sites(RESOLUTION_NCT, settings=ctgov_settings)
    out = write_sites_csv(result, tmp_path / "out" / "sites.csv")

    assert out == tmp_path / "out" / "sites.csv"
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(SITE_COLUMNS)
    back = pd.read_csv(out, dtype={"zip": str})
    assert len(back) == 3
    assert list(back["site_id"]) == list(result.sites["site_id"])
    assert list(back["zip"]) == ["55905", "02215", "80218"]
    assert back.loc[0, "lat"] == pytest.approx(44.02163)
    assert back.loc[1, "lon"] == pytest.approx(-71.05977)
    assert back["lat"].isna().tolist() == [False, False, True]
    assert "no coordinates" in back.loc[2, "note"]


# --- error cases ----------------------------------------------------------------------------


def test_unknown_study_is_a_clear_not_found(stub: CtgovStub, ctgov_settings: Settings) -> None:
    with pytest.raises(NotFoundError) as err:
        import_sites("nct09999999", settings=ctgov_settings)
    assert str(err.value).startswith("NCT09999999 was not found on ClinicalTrials.gov.")
    assert stub.requests_for("NCT09999999") == 1  # 404 is not retried


def test_study_without_locations(ctgov_settings: Settings) -> None:
    with pytest.raises(NotFoundError) as err:
        import_sites("NCT00000002", settings=ctgov_settings)
    message = str(err.value)
    assert message.startswith("NCT00000002 lists no locations yet")
    assert "study status: not yet recruiting" in message


def test_no_active_site_says_how_many_were_left_out_and_suggests_all(
    ctgov_settings: Settings,
) -> None:
    with pytest.raises(NotFoundError) as err:
        import_sites("NCT00000003", settings=ctgov_settings)
    message = str(err.value)
    assert "all 3 listed sites were left out" in message
    assert "2 completed, 1 terminated" in message
    assert "--all" in message

    everything = import_sites("NCT00000003", include_all=True, settings=ctgov_settings)
    assert everything.n_kept == 3
    assert list(everything.sites["status"]) == ["completed", "completed", "terminated"]


def test_server_error_is_retried_then_succeeds(stub: CtgovStub, ctgov_settings: Settings) -> None:
    result = import_sites("NCT00000500", settings=ctgov_settings)
    assert stub.requests_for("NCT00000500") == 2  # one HTTP 500, then the record
    assert result.n_kept == 1
    assert result.sites.loc[0, "name"] == "Mayo Clinic"


def test_timeout_gives_a_network_error_naming_the_service(
    stub: CtgovStub, ctgov_settings: Settings
) -> None:
    settings = ctgov_settings.with_(http_timeout_s=0.2, http_retries=1)
    started = time.monotonic()
    with pytest.raises(NetworkError) as err:
        import_sites("NCT00000408", settings=settings)
    elapsed_s = time.monotonic() - started
    message = str(err.value)
    assert "ClinicalTrials.gov" in message
    assert "NCT00000408" in message
    assert "timed out after 0.2 s" in message
    assert stub.requests_for("NCT00000408") == 2  # first try + one retry
    assert elapsed_s < 1.5  # gave up well before the stub's 2 s answer


def test_unreachable_service_gives_a_network_error(closed_port_url: str) -> None:
    settings = Settings(
        ctgov_base_url=closed_port_url, http_timeout_s=0.5, http_retries=1, http_backoff_s=0.01
    )
    with pytest.raises(NetworkError) as err:
        import_sites(RESOLUTION_NCT, settings=settings)
    message = str(err.value)
    assert "ClinicalTrials.gov could not be reached" in message
    assert "could not connect" in message
    assert "after 2 tries" in message


def test_answer_that_is_not_json(ctgov_settings: Settings) -> None:
    with pytest.raises(
        NetworkError, match=r"ClinicalTrials\.gov answered with something that is not JSON"
    ):
        fetch_study("NCT00000204", settings=ctgov_settings)


def test_fetch_study_uses_an_injected_client(stub: CtgovStub, ctgov_settings: Settings) -> None:
    client = HttpClient(service="ClinicalTrials.gov", timeout_s=1.0, retries=0)
    study = fetch_study(RESOLUTION_NCT, settings=ctgov_settings, client=client)
    assert study["protocolSection"]["identificationModule"]["nctId"] == RESOLUTION_NCT
    assert len(study["protocolSection"]["contactsLocationsModule"]["locations"]) == 4
    assert stub.requests_for(RESOLUTION_NCT) == 1


# --- study_sites on records (no server) -----------------------------------------------------


def _record(locations: list[dict[str, Any]], overall: str = "RECRUITING") -> dict[str, Any]:
    return {
        "protocolSection": {
            "identificationModule": {"nctId": "NCT01234567", "briefTitle": "Edge cases"},
            "statusModule": {"overallStatus": overall},
            "contactsLocationsModule": {"locations": locations},
        }
    }


def test_study_sites_defaults_to_active_statuses_and_can_take_its_own() -> None:
    assert {
        "RECRUITING",
        "NOT_YET_RECRUITING",
        "ACTIVE_NOT_RECRUITING",
        "ENROLLING_BY_INVITATION",
    } == set(ACTIVE_STATUSES)
    statuses = [
        "RECRUITING",
        "NOT_YET_RECRUITING",
        "ACTIVE_NOT_RECRUITING",
        "ENROLLING_BY_INVITATION",
        "COMPLETED",
        "WITHDRAWN",
        "TERMINATED",
        "SUSPENDED",
    ]
    record = _record(
        [
            {"facility": f"Site {i}", "city": "Rochester", "state": "Minnesota", "zip": "55905",
             "country": "United States", "status": s, "geoPoint": {"lat": 44.0, "lon": -92.5}}
            for i, s in enumerate(statuses, start=1)
        ]
    )  # fmt: skip
    default = study_sites(record, retrieved=date(2025, 11, 1))
    assert list(default["status"]) == [s.lower() for s in statuses[:4]]
    assert list(default["site_id"]) == [f"NCT01234567-00{i}" for i in (1, 2, 3, 4)]
    assert set(default["source"]) == {"ClinicalTrials.gov NCT01234567, retrieved 2025-11-01"}

    only_withdrawn = study_sites(record, statuses=["withdrawn"])
    assert list(only_withdrawn["name"]) == ["Site 6"]
    assert list(only_withdrawn["site_id"]) == ["NCT01234567-006"]
    assert len(study_sites(record, statuses=None)) == 8


def test_study_sites_explains_missing_status_bad_point_and_missing_name() -> None:
    record = _record(
        [
            # no site status: the study's overall status stands in
            {"facility": "Mayo Clinic", "city": "Rochester", "state": "Minnesota",
             "country": "United States", "geoPoint": {"lat": 44.02163, "lon": -92.4699}},
            # coordinates out of range
            {"facility": "Bad Point Hospital", "city": "Omaha", "state": "Nebraska", "zip": "68198",
             "country": "United States", "status": "RECRUITING",
             "geoPoint": {"lat": 191.2, "lon": -95.9}},
            # no facility name, outside the US: state kept as given
            {"city": "Toronto", "state": "Ontario", "zip": "M5G 2M9", "country": "Canada",
             "status": "RECRUITING", "geoPoint": {"lat": 43.70011, "lon": -79.4163}},
        ]
    )  # fmt: skip
    sites = study_sites(record)
    assert len(sites) == 3

    assert sites.loc[0, "status"] == "recruiting"
    assert "the study's status (recruiting) is used" in sites.loc[0, "note"]
    assert sites.loc[0, "zip"] == ""

    assert math.isnan(sites.loc[1, "lat"]) and math.isnan(sites.loc[1, "lon"])
    assert "coordinates unusable (lat 191.2, lon -95.9)" in sites.loc[1, "note"]
    assert sites.loc[1, "coord_precision"] == ""

    assert sites.loc[2, "name"] == "Unnamed site in Toronto"
    assert "no facility name" in sites.loc[2, "note"]
    assert (sites.loc[2, "state"], sites.loc[2, "country"]) == ("Ontario", "Canada")
    assert sites.loc[2, "lat"] == pytest.approx(43.70011)


def test_study_sites_of_the_resolution_record_without_a_server() -> None:
    sites = study_sites(RESOLUTION, retrieved=date(2025, 11, 20))
    assert list(sites["name"]) == [
        "Mayo Clinic",
        "Dana-Farber Cancer Institute",
        "Colorado Blood Cancer Institute",
    ]
    assert int(sites["lat"].isna().sum()) == 1


def test_study_sites_refuses_something_that_is_not_a_study() -> None:
    with pytest.raises(ValidationError, match="protocolSection"):
        study_sites({"studies": []})
