"""The rule edges a coordinator relies on: exactly 120 min, margin boundaries, estimates."""

import math

import numpy as np
import pytest

from geo.errors import ValidationError
from geo.rules import PRESETS, ProximityRule, custom_rule, get_rule
from geo.types import EngineInfo, Verdict

ROUTED = EngineInfo(name="valhalla", data="test")
ESTIMATE = EngineInfo(name="estimate", data="", is_estimate=True, error_fraction=0.15)


def test_presets_have_the_published_numbers():
    res = get_rule("resolution")
    assert (res.max_drive_min, res.min_days, res.inpatient_days) == (120, 35, 4)
    assert "NCT07085104" in res.source
    assert get_rule("car-t-label-2025").min_days == 14
    assert get_rule("car-t-rems").min_days == 28
    assert set(PRESETS) == {"resolution", "car-t-label-2025", "car-t-rems"}


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (60, Verdict.WITHIN),
        (109.99, Verdict.WITHIN),
        (110, Verdict.WITHIN),  # exactly the margin to spare: within
        (110.01, Verdict.BORDERLINE),
        (119.9, Verdict.BORDERLINE),
        (120, Verdict.BORDERLINE),  # exactly the limit complies, but with nothing to spare
        (120.01, Verdict.OUTSIDE),
        (300, Verdict.OUTSIDE),
    ],
)
def test_verdict_edges_with_10_min_margin(minutes, expected):
    rule = get_rule("resolution")
    assert rule.margin_min == 10
    assert rule.verdict(minutes * 60, ROUTED) == expected


def test_exactly_the_limit_is_within_when_no_margin():
    rule = custom_rule(120, margin_min=0)
    assert rule.verdict(7200.0, ROUTED) == Verdict.WITHIN
    assert rule.verdict(7200.6, ROUTED) == Verdict.OUTSIDE


def test_nan_is_unknown_never_within():
    rule = get_rule("resolution")
    assert rule.verdict(math.nan, ROUTED) == Verdict.UNKNOWN
    out = rule.verdicts(np.array([np.nan, 3600.0, np.inf]), ROUTED)
    assert list(out) == ["unknown", "within", "unknown"]


def test_estimate_widens_the_margin_to_its_error():
    rule = get_rule("resolution")
    # 15 % of 120 min = 18 min: 105 min is within for a routed time, borderline for an estimate.
    assert rule.effective_margin_min(ESTIMATE) == pytest.approx(18)
    assert rule.verdict(105 * 60, ROUTED) == Verdict.WITHIN
    assert rule.verdict(105 * 60, ESTIMATE) == Verdict.BORDERLINE
    assert rule.verdict(102.1 * 60, ESTIMATE) == Verdict.BORDERLINE
    assert rule.verdict(101.9 * 60, ESTIMATE) == Verdict.WITHIN
    assert rule.verdict(102.1 * 60, ROUTED) == Verdict.WITHIN


def test_spare_minutes():
    rule = get_rule("resolution")
    assert list(rule.spare_min([107 * 60, 130 * 60])) == [13, -10]


def test_bad_rules_are_refused_with_every_problem():
    with pytest.raises(ValidationError) as err:
        ProximityRule(name="x", max_drive_min=-5, min_days=-1, margin_min=10)
    assert len(err.value.problems) == 3
    with pytest.raises(ValidationError, match="unknown rule 'nope'"):
        get_rule("nope")


def test_summary_reads_like_the_protocol():
    assert get_rule("resolution").summary() == (
        "≤ 120 min drive for 35 days after infusion (first 4+ days as an inpatient)"
    )
