"""The app in a real browser: the verdict shows, the map draws (never a 0-px iframe), no JS errors.

Screenshots of each page go to a temporary folder, never over the tracked docs/screenshots/;
``python docs/screenshots/refresh.py`` reruns these tests with ``TRIALREACH_SCREENSHOT_DIR`` set to
refresh the README's pictures on demand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from geo.mapping import ESTIMATE_COLOR, ISOCHRONE_COLORS, PLACE_COLOR, ROUTE_COLOR
from geo.wording import VERDICT_COLORS

from .app_server import SHOTS, SLOW, map_frame, shot, watch_errors


def test_coordinator_check_in_browser(page: Page, app_url: str) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": 1400, "height": 1900})
    page.goto(app_url)
    address = page.get_by_role("textbox", name="Address of the lodging")
    expect(address).to_be_visible(timeout=SLOW)
    address.fill("39.9900, -83.0000")
    page.get_by_role("button", name="Check", exact=True).click()
    card = page.get_by_test_id("stMarkdown").filter(has_text="WITHIN THE RULE")
    expect(card.first).to_be_visible(timeout=SLOW)
    expect(page.get_by_text("OSU Arthur G. James Cancer Hospital").first).to_be_visible()
    # The engine in plain words once; its full description (naming Valhalla) on demand.
    expect(page.get_by_text("Drive times are routed on OpenStreetMap roads").first).to_be_visible()
    page.get_by_text("Engine details").first.click()
    expect(page.get_by_text("valhalla").first).to_be_visible()
    frame = map_frame(page)
    # The 1-hour and 2-hour isochrones, the route and the lodging dot are SVG paths.
    for colour in (*ISOCHRONE_COLORS[:2], ROUTE_COLOR):
        expect(frame.locator(f"path.leaflet-interactive[stroke='{colour}']").first).to_be_visible(
            timeout=SLOW
        )
    expect(frame.locator(f"path.leaflet-interactive[fill='{PLACE_COLOR}']")).to_have_count(1)
    expect(frame.locator("img.leaflet-marker-icon")).to_have_count(1)  # the site
    # The offline basemap (county and state lines, not interactive) is drawn too.
    assert frame.locator("path:not(.leaflet-interactive)").count() > 10
    expect(page.get_by_role("button", name="Printable record of this check")).to_be_visible()
    # Routed: no estimate badge; the legend names both areas as routed.
    expect(page.get_by_test_id("estimate-badge")).to_have_count(0)
    legend = frame.locator(".trialreach-legend")
    expect(legend).to_contain_text("within 1 hour by car — routed on OSM roads")
    expect(legend).to_contain_text("within 2 hours by car")
    # The offline basemap has the extract's main roads (rank-coloured lines) in it: those of the
    # graph that answered (the demo graph, built from both shipped extracts), named as such.
    expect(frame.locator("path[stroke='#c8a26a']").first).to_be_attached(timeout=SLOW)
    expect(frame.locator(".leaflet-control-attribution")).to_contain_text(
        "extracts: columbus, harrisburg"
    )
    credit = frame.locator(".leaflet-control-attribution").inner_text()
    assert credit.count("OpenStreetMap") == 1, credit  # tiles, roads and areas: one credit
    _assert_metrics_whole(page)
    shot(page, "coordinator.png")
    assert not errors, errors


def test_coordinator_map_marks_where_the_road_data_ends(page: Page, app_url: str) -> None:
    """Near Harrisburg the demo graph's roads end a few km from the site: the 2-hour area is cut
    there, and the map draws that stretch as heavy amber dashes named in the legend."""
    errors = watch_errors(page)
    page.set_viewport_size({"width": 1400, "height": 1900})
    page.goto(app_url)
    address = page.get_by_role("textbox", name="Address of the lodging")
    expect(address).to_be_visible(timeout=SLOW)
    address.fill("40.2700, -76.8500")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.get_by_text("UPMC Community Osteopathic").first).to_be_visible(timeout=SLOW)
    frame = map_frame(page)
    dashes = frame.locator(f"path.leaflet-interactive[stroke='{ESTIMATE_COLOR}']")
    expect(dashes.first).to_be_visible(timeout=SLOW)
    assert dashes.first.get_attribute("stroke-dasharray") == "8 6"
    assert dashes.first.get_attribute("stroke-width") == "5"
    legend = frame.locator(".trialreach-legend")
    expect(legend).to_contain_text("where the road data ends (area cut short)")
    expect(legend).to_contain_text("Straight, blocky edges")
    shot(page, "coordinator-edge.png")
    assert not errors, errors


def _clipped_metrics(page: Page) -> list[str]:
    """The metric labels and values cut with "…" or wider than their box."""
    values = page.locator("[data-testid='stMetricValue'], [data-testid='stMetricLabel']")
    expect(values.first).to_be_visible()
    return list(
        values.evaluate_all(
            """els => els.flatMap(e => [e, ...e.querySelectorAll('*')])
                .filter(e => e.scrollWidth > e.clientWidth + 1
                          || getComputedStyle(e).textOverflow === 'ellipsis'
                             && e.scrollWidth > e.clientWidth)
                .map(e => e.innerText)"""
        )
    )


def _assert_metrics_whole(page: Page) -> None:
    """Every metric value is shown whole: nothing cut with "…" (its text fits its box)."""
    values = page.get_by_test_id("stMetricValue")
    expect(values.first).to_be_visible()
    clipped = values.evaluate_all(
        """els => els.flatMap(e => [e, ...e.querySelectorAll('*')])
            .filter(e => e.scrollWidth > e.clientWidth + 1
                      || getComputedStyle(e).textOverflow === 'ellipsis')
            .map(e => e.innerText)"""
    )
    assert not clipped, clipped
    texts = values.all_inner_texts()
    # The long site name of the demo's Columbus site is there in full.
    assert "OSU Arthur G. James Cancer Hospital" in texts, texts


def test_printable_record_in_browser(page: Page, app_url: str, tmp_path: Path) -> None:
    """The downloaded record opens on its own: verdict, map of place, site and route, filing
    fields typed at print time, signature and date lines, and no request leaves the page."""
    errors = watch_errors(page)
    page.set_viewport_size({"width": 1400, "height": 1900})
    page.goto(app_url)
    address = page.get_by_role("textbox", name="Address of the lodging")
    expect(address).to_be_visible(timeout=SLOW)
    address.fill("39.9900, -83.0000")
    page.get_by_role("button", name="Check", exact=True).click()
    button = page.get_by_role("button", name="Printable record of this check")
    expect(button).to_be_visible(timeout=SLOW)
    with page.expect_download(timeout=SLOW) as download:
        button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("trialreach-check-") and saved.suffix == ".html"
    assert not errors, errors

    record = page.context.new_page()
    requests: list[str] = []
    record.on("request", lambda r: requests.append(r.url))
    record.goto(saved.as_uri())
    expect(record.locator(".verdict")).to_have_text("Within the rule")
    table = record.locator("table").first
    expect(table).to_contain_text("OSU Arthur G. James Cancer Hospital")
    expect(table).to_contain_text("no — routed")
    svg = record.get_by_test_id("record-map")
    expect(svg).to_be_visible()
    box = svg.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200, box
    expect(svg.locator("circle[fill='#8250df']")).to_have_count(1)  # the place
    expect(svg.locator("rect")).to_have_count(1)  # the site
    points = svg.locator("polyline").get_attribute("points") or ""
    assert len(points.split()) >= 2, points  # the route, drawn
    # Every label lies inside the map (none runs off its edge).
    off = svg.evaluate(
        """s => { const b = s.getBoundingClientRect();
            return [...s.querySelectorAll('text')].filter(t => {
                const r = t.getBoundingClientRect();
                return r.left < b.left - 1 || r.right > b.right + 1;
            }).map(t => t.textContent); }"""
    )
    assert off == [], off
    # Participant and study IDs are typed in the page itself, then printed.
    record.get_by_label("Participant ID").fill("P-0042")
    record.get_by_label("Study ID").fill("NCT07085104")
    expect(record.get_by_label("Participant ID")).to_have_value("P-0042")
    expect(record.get_by_text("Checked by (signature)")).to_be_visible()
    expect(record.locator("table.filing th", has_text="Date")).to_be_visible()
    record.emulate_media(media="print")
    SHOTS.mkdir(parents=True, exist_ok=True)
    record.screenshot(path=str(SHOTS / "record.png"), full_page=True)
    # Self-contained: the file itself is the only thing the page loaded.
    assert [u for u in requests if not u.startswith("file:")] == [], requests
    record.close()


BATCH_CSV = b"""name,lat,lon
Near the James,39.99,-83.00
Far away in Minnesota,44.0225,-92.4668
No place,,
"""


def test_batch_on_a_map_with_filter_in_browser(page: Page, app_url: str) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": 1400, "height": 2200})
    page.goto(app_url)
    page.get_by_role("tab", name="Many places (CSV)").click()
    page.locator("input[type='file']").first.set_input_files(
        files=[{"name": "lodgings.csv", "mimeType": "text/csv", "buffer": BATCH_CSV}]
    )
    expect(page.get_by_text("3 places:").first).to_be_visible(timeout=SLOW)
    # The far row is answered by the estimate (auto: no local graph there) and says so.
    expect(page.get_by_text("answered by the estimate").first).to_be_visible(timeout=SLOW)
    frame = map_frame(page)
    within = frame.locator(f"path.leaflet-interactive[fill='{VERDICT_COLORS['within']}']")
    expect(within).to_have_count(1, timeout=SLOW)
    ringed = frame.locator(f"path.leaflet-interactive[stroke='{ESTIMATE_COLOR}']")
    expect(ringed).to_have_count(1)
    legend = frame.locator(".trialreach-legend")
    expect(legend).to_contain_text(re.compile(r"estimate,? \(?not routed", re.IGNORECASE))
    # The row without a place has no drive time: its cells say "—" (a missing number would be
    # drawn "None" on the grid's canvas, and be empty in its accessible table).
    drive = _grid_column(page, "Drive (min)")
    spare = _grid_column(page, "Spare (min)")
    assert len(drive) == len(spare) == 3 and drive[2] == spare[2] == "—", (drive, spare)
    assert drive[0].isdigit() and drive[1].isdigit(), drive  # whole minutes for the others
    # How each row was answered has its own header (the other tables' "Answer" is the verdict).
    how = _grid_column(page, "Routed or estimate")
    assert how == ["routed", "ESTIMATE · not routed", "—"], how
    shot(page, "batch.png")
    # The verdict filter: leave out "outside" — the map and the table follow, the legend says so.
    chips = page.get_by_test_id("stMultiSelect").get_by_role("button", name=re.compile("^Remove"))
    expect(chips).to_have_count(3)  # within, outside, unknown (borderline has no rows)
    page.get_by_role("button", name="Remove outside").click()
    expect(chips).to_have_count(2, timeout=SLOW)
    frame = map_frame(page)
    legend = frame.locator(".trialreach-legend")
    expect(legend).to_contain_text("outside (0 of 1 shown)", timeout=SLOW)
    expect(legend).to_contain_text("1 place(s) hidden by the verdict filter")
    expect(frame.locator(f"path.leaflet-interactive[stroke='{ESTIMATE_COLOR}']")).to_have_count(0)
    expect(within).to_have_count(1)
    assert not errors, errors


def _settled(page: Page, problems: Callable[[Page], list[Any]], seconds: float = 5.0) -> list[Any]:
    """``problems(page)`` once it is empty, or after ``seconds`` (what is still wrong then).

    Right after a resize the columns and grids re-lay out over a few frames (longer on a loaded
    machine); a reader sees the settled page, so a clip is a failure only if it lasts.
    """
    found = problems(page)
    for _ in range(int(seconds / 0.25)):
        if not found:
            break
        page.wait_for_timeout(250)
        found = problems(page)
    return found


def _sideways_tables(page: Page) -> list[list[float]]:
    """[shown, full] widths (px) of each table on the page wider than its box, i.e. one a
    reader must scroll sideways to see whole."""
    return list(
        page.get_by_test_id("stDataFrame").evaluate_all(
            """els => els.map(e => e.querySelector('.dvn-scroller'))
                .filter(s => s && s.scrollWidth > s.clientWidth + 1)
                .map(s => [s.clientWidth, s.scrollWidth])"""
        )
    )


def _grid_column(page: Page, header: str) -> list[str]:
    """The texts of one column of the page's table, from the grid's accessible table (the
    grid itself is drawn on a canvas)."""
    grid = page.get_by_test_id("stDataFrame").first
    head = grid.locator("th[role='columnheader']", has_text=header).first
    expect(head).to_be_attached(timeout=SLOW)
    index = head.get_attribute("aria-colindex")
    return grid.locator(f"td[role='gridcell'][aria-colindex='{index}']").all_text_contents()


def test_patient_page_in_browser(page: Page, app_url: str) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": 1400, "height": 1900})
    page.goto(f"{app_url}/patient")
    place = page.get_by_role("textbox", name="Your address, ZIP code or town")
    expect(place).to_be_visible(timeout=SLOW)
    place.fill("43210")
    page.get_by_role("button", name="Find sites").click()
    expect(page.get_by_text("The nearest site is").first).to_be_visible(timeout=SLOW)
    frame = map_frame(page)
    expect(frame.locator("img.leaflet-marker-icon").first).to_be_visible(timeout=SLOW)
    shot(page, "patient.png")
    assert not errors, errors


def test_planner_page_in_browser(page: Page, app_url: str) -> None:
    errors = watch_errors(page)
    page.set_viewport_size({"width": 1400, "height": 1900})
    page.goto(f"{app_url}/planner")
    button = page.get_by_role("button", name="Compute coverage")
    expect(button).to_be_visible(timeout=SLOW)
    button.click()
    expect(page.get_by_text("People within the rule")).to_be_visible(timeout=SLOW)
    # Every head count and share is readable whole: none cut to "320,692,…".
    assert not _clipped_metrics(page), _clipped_metrics(page)
    expect(page.get_by_test_id("stDataFrame")).to_have_count(2)
    assert not _sideways_tables(page), _sideways_tables(page)
    for width in (1280, 1024):  # common laptop widths, sidebar open
        page.set_viewport_size({"width": width, "height": 1200})
        # Measured once the page has settled after the resize (a clip that lasts fails).
        assert not _settled(page, _clipped_metrics), (width, _clipped_metrics(page))
        # Both tables whole: no column (People, the routed share) scrolled out of view.
        assert not _settled(page, _sideways_tables), (width, _sideways_tables(page))
    page.set_viewport_size({"width": 1400, "height": 1900})
    frame = map_frame(page)
    expect(frame.locator("path.leaflet-interactive").first).to_be_visible(timeout=SLOW)
    shot(page, "planner.png")
    assert not errors, errors
