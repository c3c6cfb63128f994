"""Proximity rules: how far (in driving minutes) a patient may stay from the site, for how long.

A verdict compares a routed (or estimated) drive time with the rule:

* ``outside``     the drive takes longer than ``max_drive_min``;
* ``borderline``  it complies, but with less than the safety margin to spare;
* ``within``      it complies with at least the margin to spare;
* ``unknown``     there is no trustworthy drive time (the reason is given).

A drive of exactly ``max_drive_min`` complies (it is "within 2 hours") but is borderline whenever
a margin is set. When a time is an estimate, its typical error at the limit counts both ways: the
margin is widened to it (an estimate never claims a confident ``within`` it cannot support), and
an estimate over the limit by less than that error is ``borderline`` too (never a confident
``outside``). Matrices from the ``auto`` engine mix routed and estimated cells: pass their
per-cell ``estimated`` flags and each cell gets its own margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from geo.errors import ValidationError
from geo.types import EngineInfo, FloatArray, Verdict


@dataclass(frozen=True)
class ProximityRule:
    """A trial's (or a label's) rule on how close to the site a patient must stay.

    Attributes
    ----------
    name
        Short key, e.g. ``"resolution"``.
    max_drive_min
        Longest allowed driving time to the site, in minutes.
    min_days
        How many days after the infusion the rule applies.
    margin_min
        Safety margin in minutes: a drive with less than this to spare is ``borderline``.
    inpatient_days
        Days spent as an inpatient at the start (0 if none required).
    title
        Human-readable name.
    source
        Where the rule comes from (citation a monitor can check).
    """

    name: str
    max_drive_min: float
    min_days: int
    margin_min: float = 10.0
    inpatient_days: int = 0
    title: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not (math.isfinite(self.max_drive_min) and self.max_drive_min > 0):
            problems.append(
                f"max_drive_min must be a positive number of minutes, got {self.max_drive_min}"
            )
        if not (math.isfinite(self.margin_min) and 0 <= self.margin_min < self.max_drive_min):
            problems.append(
                f"margin_min must be between 0 and max_drive_min ({self.max_drive_min}), "
                f"got {self.margin_min}"
            )
        if self.min_days < 0 or self.inpatient_days < 0:
            problems.append("min_days and inpatient_days cannot be negative")
        if problems:
            raise ValidationError(f"invalid proximity rule {self.name!r}", problems)

    @property
    def max_drive_s(self) -> float:
        return self.max_drive_min * 60.0

    def effective_margin_min(self, engine: EngineInfo | None = None) -> float:
        """The margin used for verdicts: the rule's, widened to an estimate's typical error."""
        if engine is None or not engine.is_estimate:
            return self.margin_min
        return max(self.margin_min, self.estimate_error_min(engine))

    def estimate_error_min(self, engine: EngineInfo | None) -> float:
        """Minutes an estimated drive of the limit's length may be off (0 when routed).

        ``engine.error_at(limit)`` is the estimate's measured error at trips of the limit's
        length, as a share of the time (see :mod:`geo.routing.estimate`): 25 % at 2 h, more
        for short limits, where town driving makes the estimate rougher.
        """
        if engine is None:
            return 0.0
        return engine.error_at(self.max_drive_min) * self.max_drive_min

    def margins_min(
        self, engine: EngineInfo | None, estimated: npt.ArrayLike | None = None
    ) -> FloatArray:
        """The margin each cell's verdict uses (minutes), given per-cell ``estimated`` flags."""
        flags = self._estimated(engine, estimated, ())
        est = max(self.margin_min, self.estimate_error_min(engine))
        return np.where(flags, est, self.margin_min).astype(float)

    @staticmethod
    def _estimated(
        engine: EngineInfo | None, estimated: npt.ArrayLike | None, shape: tuple[int, ...]
    ) -> npt.NDArray[np.bool_]:
        if estimated is None:
            return np.full(shape, bool(engine is not None and engine.is_estimate))
        return np.asarray(estimated, dtype=bool)

    def summary(self) -> str:
        """One line a coordinator reads: '≤ 120 min drive for 35 days (first 4 as inpatient)'."""
        text = f"≤ {self.max_drive_min:g} min drive for {self.min_days} days after infusion"
        if self.inpatient_days:
            text += f" (first {self.inpatient_days}+ days as an inpatient)"
        return text

    def verdict(self, duration_s: float, engine: EngineInfo | None = None) -> Verdict:
        """Verdict for one drive time in seconds (NaN gives ``unknown``)."""
        return Verdict(str(self.verdicts(np.array([duration_s], dtype=float), engine)[0]))

    def verdicts(
        self,
        duration_s: npt.ArrayLike,
        engine: EngineInfo | None = None,
        estimated: npt.ArrayLike | None = None,
    ) -> npt.NDArray[np.str_]:
        """Vectorised verdicts for drive times in seconds; NaN gives ``unknown``.

        Parameters
        ----------
        duration_s
            Drive times in seconds (any shape).
        engine
            The engine that answered; its ``error_fraction`` is the estimate's error.
        estimated
            Per-cell flags (same shape), True where the time is an estimate. Default: every
            cell is as ``engine.is_estimate`` says. Estimated cells get the widened margin, and
            an estimate over the limit by less than its error is ``borderline``.
        """
        seconds: FloatArray = np.asarray(duration_s, dtype=float)
        flags = np.broadcast_to(self._estimated(engine, estimated, seconds.shape), seconds.shape)
        spare_min = self.max_drive_min - seconds / 60.0
        margin = np.where(
            flags, max(self.margin_min, self.estimate_error_min(engine)), self.margin_min
        )
        # How far over the limit still is not a confident `outside` (an estimate's error).
        slack = np.where(flags, self.estimate_error_min(engine), 0.0)
        # Round to 1e-6 min so that a drive of exactly the limit is not lost to float noise.
        spare_min = np.round(spare_min, 6)
        out = np.full(seconds.shape, Verdict.UNKNOWN.value, dtype=object)
        known = np.isfinite(seconds)
        out[known & (spare_min < -slack)] = Verdict.OUTSIDE.value
        out[known & (spare_min >= -slack) & (spare_min < margin)] = Verdict.BORDERLINE.value
        out[known & (spare_min >= margin)] = Verdict.WITHIN.value
        return out.astype(str)

    def contradicted(
        self, verdict: npt.ArrayLike, second_s: npt.ArrayLike
    ) -> npt.NDArray[np.bool_]:
        """Where a second engine's time (s) contradicts a confident verdict across the limit.

        A ``within`` is contradicted by a second time over the limit, an ``outside`` by one that
        complies; a ``borderline`` already says the drive is close. NaN never contradicts. Such
        verdicts become ``borderline`` ("engines disagree"), see
        :mod:`geo.routing.second_opinion`.
        """
        v = np.asarray(verdict, dtype=object)
        second_v = self.verdicts(second_s)
        complies = np.isin(second_v, [Verdict.WITHIN.value, Verdict.BORDERLINE.value])
        return np.asarray(
            ((v == Verdict.WITHIN.value) & (second_v == Verdict.OUTSIDE.value))
            | ((v == Verdict.OUTSIDE.value) & complies),
            dtype=bool,
        )

    def spare_min(self, duration_s: npt.ArrayLike) -> FloatArray:
        """Minutes to spare (negative when over the limit; NaN when unknown)."""
        return self.max_drive_min - np.asarray(duration_s, dtype=float) / 60.0


PRESETS: dict[str, ProximityRule] = {
    "resolution": ProximityRule(
        name="resolution",
        title="RESOLUTION (ALLO-329, NCT07085104)",
        max_drive_min=120,
        min_days=35,
        inpatient_days=4,
        margin_min=10,
        source=(
            "Allogene RESOLUTION study of ALLO-329 (NCT07085104): patients stay within 2 hours' "
            "driving time of the study site for at least 35 days after infusion, the first 4+ days "
            "as inpatients (study eligibility/requirements as published for the trial)."
        ),
    ),
    "car-t-label-2025": ProximityRule(
        name="car-t-label-2025",
        title="Commercial CAR-T labels (after FDA's June 2025 update)",
        max_drive_min=120,
        min_days=14,
        margin_min=10,
        source=(
            "FDA, June 2025: REMS eliminated for approved autologous CAR-T products; labels now "
            "ask patients to stay within proximity (about 2 hours) of the treatment centre for "
            "at least "
            "2 weeks after infusion (previously 4 weeks)."
        ),
    ),
    "car-t-rems": ProximityRule(
        name="car-t-rems",
        title="CAR-T REMS (before June 2025)",
        max_drive_min=120,
        min_days=28,
        margin_min=10,
        source=(
            "Earlier CAR-T REMS/label wording: stay within 2 hours of the certified treatment "
            "centre for at least 4 weeks after infusion."
        ),
    ),
}


def get_rule(name: str) -> ProximityRule:
    """A preset rule by name (``resolution``, ``car-t-label-2025``, ``car-t-rems``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValidationError(
            f"unknown rule {name!r}; choose one of: {', '.join(PRESETS)} (or give custom minutes)"
        ) from None


def custom_rule(
    max_drive_min: float, min_days: int = 35, margin_min: float = 10.0
) -> ProximityRule:
    """A rule with custom numbers (e.g. a protocol with a 90-minute limit)."""
    return ProximityRule(
        name="custom",
        title=f"Custom: {max_drive_min:g} min for {min_days} days",
        max_drive_min=max_drive_min,
        min_days=min_days,
        margin_min=margin_min,
        source="set by the user",
    )
