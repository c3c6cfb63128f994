"""One shared check that an engine's seconds can be drive times (issue 12)."""

import numpy as np
import pytest

from geo.errors import EngineFaultError
from geo.routing.base import SAME_POINT_M, validate_durations

ORIG = np.array([[0.0, 0.0], [1.0, 0.0]])
DEST = np.array([[0.0, 0.0], [5.0, 0.0]])  # 5° of longitude at the equator ≈ 556 km


def test_good_times_and_nan_pass_unchanged():
    d = np.array([[0.0, 20_000.0], [np.nan, 16_000.0]])
    out = validate_durations(d, ORIG, DEST, "test")
    np.testing.assert_array_equal(out, d)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, -np.inf])
def test_faulty_cell_refuses_the_whole_answer_and_says_how_far(bad):
    d = np.array([[0.0, bad], [3600.0, 16_000.0]])
    with pytest.raises(EngineFaultError, match=r"test answered .* between points 556 km apart"):
        validate_durations(d, ORIG, DEST, "test")


def test_zero_is_allowed_only_for_ends_that_snap_together():
    # 0.003° of longitude ≈ 334 m (within SAME_POINT_M), 0.006° ≈ 667 m (beyond it).
    assert SAME_POINT_M == 500.0
    near, far = np.array([[0.003, 0.0]]), np.array([[0.006, 0.0]])
    o = np.array([[0.0, 0.0]])
    assert validate_durations([[0.0]], o, near, "t")[0, 0] == 0.0
    with pytest.raises(EngineFaultError):
        validate_durations([[0.0]], o, far, "t")


def test_wrong_shape_is_a_fault():
    with pytest.raises(EngineFaultError, match="shape"):
        validate_durations(np.zeros((1, 2)), ORIG, DEST, "t")
