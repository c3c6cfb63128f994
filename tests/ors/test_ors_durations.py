"""openrouteservice answers that cannot be drive times are engine faults, never verdicts.

Issue 12: a place 560 km away came out "within 0.0 min" because ORS answered 0 s; under
``auto`` that answer replaced a local graph's real one. The stub is made to answer such tables.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from stub_ors import StubOrs

from geo.errors import EngineFaultError
from geo.routing.ors import OrsRouter
from geo.types import LonLat

MakeRouter = Callable[..., OrsRouter]

# Columbus, OH → Chicago, IL: about 480 km in a straight line.
PLACE = (-83.0, 39.99)
SITE = (-87.63, 41.88)


def _matrix(duration_s: float) -> dict[str, object]:
    return {"durations": [[duration_s]], "distances": [[560_000.0]]}


@pytest.mark.parametrize("bad_s", [0.0, -35.0])
def test_zero_or_negative_seconds_between_far_places_are_refused(
    make_router: MakeRouter, ors_stub: StubOrs, bad_s: float
) -> None:
    ors_stub.set_answer("matrix", _matrix(bad_s))
    with pytest.raises(EngineFaultError, match=r"openrouteservice answered .* km apart"):
        make_router().drive_times([PLACE], [SITE])


def test_zero_seconds_for_the_same_point_is_a_drive_time(
    make_router: MakeRouter, ors_stub: StubOrs
) -> None:
    ors_stub.set_answer("matrix", _matrix(0.0))
    m = make_router().drive_times([PLACE], [PLACE])
    assert m.duration_s[0, 0] == 0.0


def test_a_route_of_zero_seconds_between_far_places_is_refused(
    make_router: MakeRouter, ors_stub: StubOrs
) -> None:
    ors_stub.set_answer(
        "directions",
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"summary": {"duration": 0.0, "distance": 560_000.0}},
                    "geometry": {"type": "LineString", "coordinates": [list(PLACE), list(SITE)]},
                }
            ],
        },
    )
    with pytest.raises(EngineFaultError):
        make_router().route(LonLat(*PLACE), LonLat(*SITE))


def test_null_stays_nan_not_a_fault(make_router: MakeRouter, ors_stub: StubOrs) -> None:
    ors_stub.set_answer("matrix", {"durations": [[None]], "distances": [[None]]})
    m = make_router().drive_times([PLACE], [SITE])
    assert np.isnan(m.duration_s[0, 0])
