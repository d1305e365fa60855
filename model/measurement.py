"""Measurement: the yearly indicator survey that everyone sees, and its report card.

Nobody sees true status. Each year a sample of people in each stage (each area, without a
pipeline) is assessed, as a report card measures a grade cohort; three indicators per area
come from it: the level (mean status), the share on track and the gap between the highest
and lowest baseline quintiles. An indicator is "trending in the right direction" when this
year's measured value is better than the baseline year's, as Strive counted "positive
trends in 34 out of 53 indicators": direction only, with the sample's noise, so in a world
that does not move about half trend by chance and the count cannot saturate by
construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INDICATORS_PER_AREA = 3  # level, share on track, gap between groups


@dataclass(frozen=True)
class Survey:
    """One year's measured indicators, per area."""

    level: np.ndarray  # mean status of the sample
    on_track: np.ndarray  # share of the sample on track
    gap: np.ndarray  # top minus bottom baseline quintile (NaN if one is not in the sample)
    level_se: np.ndarray  # sampling standard error of the level

    @property
    def composite(self) -> float:
        return float(self.level.mean())

    @property
    def composite_se(self) -> float:
        return float(np.sqrt((self.level_se**2).sum()) / len(self.level_se))


def survey(values: np.ndarray, quintile: np.ndarray, threshold: float) -> Survey:
    """Indicators from sampled people's status: ``values`` and their baseline ``quintile``
    are areas x sample size."""
    n = values.shape[1]
    top, bottom = quintile == 4, quintile == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = ((values * top).sum(axis=1) / top.sum(axis=1)
               - (values * bottom).sum(axis=1) / bottom.sum(axis=1))
    spread = values.std(axis=1, ddof=1) if n > 1 else np.zeros(len(values))
    return Survey(level=values.mean(axis=1), on_track=(values >= threshold).mean(axis=1),
                  gap=gap, level_se=spread / np.sqrt(n))


def trending(now: Survey, start: Survey) -> np.ndarray:
    """Areas x 3: whether each indicator moved in the right direction since the baseline
    year (level and share on track up, gap down; a tie or an unmeasured gap is not)."""
    with np.errstate(invalid="ignore"):
        return np.stack([now.level > start.level, now.on_track > start.on_track,
                         now.gap < start.gap], axis=1)
