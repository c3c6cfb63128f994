"""Reducing a matrix to the nearest site, and when an unanswered site casts doubt."""

import numpy as np

from geo.routing.base import nearest_from_matrix
from geo.types import DriveTimeMatrix, EngineInfo

INFO = EngineInfo(name="test", data="grid")


def test_nearest_and_doubt_from_sites_off_the_data():
    # Place at the equator; site 0 answered in 10 min; site 1 off the data (NaN, flagged).
    origins = np.array([[0.0, 0.0]])
    dur = np.array([[600.0, np.nan]])
    edge = np.array([[False, True]])
    m = DriveTimeMatrix(dur, dur * 20, INFO, edge)
    # Without the points, any unanswered site casts doubt.
    assert nearest_from_matrix(m).edge_warning[0]
    # 10 min at 130 km/h reach ~21.7 km: a site 500 km away cannot be quicker → no doubt.
    far = np.array([[0.0, 0.0], [4.5, 0.0]])
    res = nearest_from_matrix(m, "routed", origins, far)
    assert not res.edge_warning[0] and res.index[0] == 0 and res.duration_s[0] == 600.0
    # A site 10 km away could be quicker → doubt stays.
    near = np.array([[0.0, 0.0], [0.09, 0.0]])
    assert nearest_from_matrix(m, "routed", origins, near).edge_warning[0]


def test_no_answer_at_all_is_unknown_not_zero():
    m = DriveTimeMatrix(np.full((1, 2), np.nan), np.full((1, 2), np.nan), INFO, None)
    res = nearest_from_matrix(m)
    assert res.index[0] == -1 and np.isnan(res.duration_s[0])
