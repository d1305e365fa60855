"""Compiled loops (numba) for the work done once per applicant or per service each quarter.

A quarter screens tens of thousands of applicants and delivers as many services; as numpy
expressions that is dozens of passes over temporary arrays, as loops one pass each. Every
random number is still drawn with numpy, in the same order and sizes, and passed in, and
each formula is computed with the same operations in the same order as its numpy form, so
the tables are those of the numpy code bit for bit (``tests/test_golden.py`` guards it).

The scalar formulas (``service_gain``, ``prerequisite_factor``) are the model's mechanisms:
the kernels call them, and so can anyone from Python.
``NUMBA_DISABLE_JIT=1`` runs everything as plain Python, for debugging.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Screening resolution: assessments are ranked on this many steps over [-0.5, 1.5], far finer
# than any screening noise, so ranking is a sort of small whole numbers.
SCREEN_LEVELS = 2**16 - 1
# Applicants ranked at a time, in whole organization-areas: a block's sort stays in the CPU's
# cache (ranks are within an organization-area, so blocks change no rank).
RANK_BLOCK = 2**15


@njit(cache=True)
def service_gain(theta, expertise, status, prerequisite):
    """Effect of one service: true effectiveness x expertise x prerequisite x headroom, where
    ``prerequisite`` is the complementarity factor (``prerequisite_factor``)."""
    return theta * expertise * prerequisite * (1 - status)


@njit(cache=True)
def prerequisite_factor(prerequisite, prerequisite_mean, complementarity):
    """How a person's status in the prerequisite area scales a service's effect:
    ``(1 - c) + c * x_prev / mean_prev``. Normalised by the prerequisite's mean, c changes
    how much progress depends on the prerequisite, not how productive the average service
    is (at the mean the factor is 1 whatever c)."""
    c = complementarity
    return (1.0 - c) + c * prerequisite / prerequisite_mean


@njit(cache=True)
def screen_level(measured):
    """An assessment's rank key: its step among ``SCREEN_LEVELS`` over [-0.5, 1.5]."""
    level = min(max(measured, -0.5), 1.5)
    level += 0.5
    level *= SCREEN_LEVELS / 2.0
    return np.uint16(np.rint(level))


@njit(cache=True)
def rank_in_groups(levels, group, n_groups):
    """Each value's rank (0 = lowest ``levels``, whole numbers below 2^16) among the values
    of its ``group``: how an organization orders its applicants by assessed need. Ties keep
    their order, so the ranking does not hang on a sort's implementation: a stable radix
    sort by level (low byte, then high byte), then each group's values counted off in that
    order."""
    n = len(levels)
    order = np.arange(n)
    buffer = np.empty(n, dtype=np.int64)
    for shift in (0, 8):
        first = np.zeros(257, dtype=np.int64)
        for j in range(n):
            first[((levels[j] >> shift) & 255) + 1] += 1
        for v in range(1, 257):
            first[v] += first[v - 1]
        for j in order:
            digit = (levels[j] >> shift) & 255
            buffer[first[digit]] = j
            first[digit] += 1
        order, buffer = buffer, order
    rank = np.empty(n, dtype=np.int64)
    seen = np.zeros(n_groups, dtype=np.int64)
    for j in order:
        rank[j] = seen[group[j]]
        seen[group[j]] += 1
    return rank


@njit(cache=True)
def screen_intake(intake, window, width, catchment_start, rows, positions, K, status,
                  noise, screening_noise, slots):
    """Every organization-area's applicants, assessed and ranked (see ``_walk_ins``).

    Group ``g = o * K + k`` takes ``intake[g]`` consecutive places from ``window[g]`` on
    the ring of its stage's ``width[g]`` places in the catchment; place ``p`` is cohort
    ``p % S`` at neighbourhood ``p // S`` (``S`` cohorts per stage, the columns of
    ``rows``), from ``catchment_start[o]`` on the ring of ``positions``. An applicant's
    assessment is their true status plus ``screening_noise x noise`` (float32 noise, as
    drawn); the neediest ``slots[g]`` by assessment are chosen.
    """
    total = intake.sum()
    S = rows.shape[1]
    org = np.empty(total, dtype=np.int64)
    area = np.empty(total, dtype=np.int64)
    group = np.empty(total, dtype=np.int64)
    person = np.empty(total, dtype=np.int64)
    measured = np.empty(total, dtype=np.float64)
    levels = np.empty(total, dtype=np.uint16)
    noise_scale = np.float32(screening_noise)
    j = 0
    for g in range(len(intake)):
        o, k = g // K, g % K
        # the place's neighbourhood and cohort, stepped along (no division per applicant)
        neighbourhood, cohort = window[g] // S, window[g] % S
        for _ in range(intake[g]):
            position = catchment_start[o] + neighbourhood
            if position >= positions:
                position -= positions
            p = rows[k, cohort] * positions + position
            value = status[p * K + k] + np.float64(noise_scale * noise[j])
            org[j], area[j], group[j], person[j] = o, k, g, p
            measured[j], levels[j] = value, screen_level(value)
            j += 1
            cohort += 1
            if cohort == S:
                cohort = 0
                neighbourhood += 1
                if neighbourhood * S == width[g]:  # the window wraps around the catchment
                    neighbourhood = 0
    rank = np.empty(total, dtype=np.int64)
    g, end = 0, 0
    while g < len(intake):  # blocks of whole groups (applicants are in group order)
        start, first = end, g
        end += intake[g]
        g += 1
        while g < len(intake) and end - start + intake[g] <= RANK_BLOCK:
            end += intake[g]
            g += 1
        rank[start:end] = rank_in_groups(levels[start:end], group[start:end] - first,
                                         g - first)
    chosen = np.empty(total, dtype=np.bool_)
    for j in range(total):
        chosen[j] = rank[j] < slots[group[j]]
    return org, area, group, person, measured, rank, chosen


@njit(cache=True)
def live_cell(person, area, K, stage, pipeline):
    """The live cell of a person's area: the person in a pipeline (people are served and
    screened only in their current stage, which is checked), else ``person * K + area``."""
    if not pipeline:
        return person * K + area
    if stage[person] != area:
        raise ValueError("a service or screen outside the person's current stage")
    return person


@njit(cache=True)
def pool_records(org, area, person, measured, chosen, draw, maturity, gate, K, stage,
                 pipeline, contacts, assessed, n_live):
    """The shared data system's records this quarter (see ``_shared_records``): each live
    cell's mean of the screens entered (applicant ``j`` is entered when ``draw[j] <
    maturity x gate[org[j]]``, its organization's willingness to share) and of outreach's
    assessments of ``contacts``; NaN where there is none. Also which live cells sharing
    partners (``gate > 0``) serve."""
    total = np.zeros(n_live)
    count = np.zeros(n_live, dtype=np.int64)
    served = np.zeros(n_live, dtype=np.bool_)
    for j in range(len(org)):
        live = live_cell(person[j], area[j], K, stage, pipeline)
        if draw[j] < maturity * gate[org[j]]:
            total[live] += measured[j]
            count[live] += 1
        if chosen[j] and gate[org[j]] > 0:
            served[live] = True
    for c in range(len(contacts)):
        total[contacts[c]] += assessed[c]
        count[contacts[c]] += 1
    record = np.full(n_live, np.nan)
    for c in range(n_live):
        if count[c] > 0:
            record[c] = total[c] / count[c]
    return record, served


@njit(cache=True)
def sum_service_gains(org, area, person, intervention, theta_local, expertise, status, K,
                      prerequisite_mean, complementarity, stage, pipeline, n_live):
    """Each live cell's summed single-service gains and number of services this quarter,
    all read from status before any service acts (``live_cell`` numbers the cells)."""
    total = np.zeros(n_live)
    count = np.zeros(n_live, dtype=np.int64)
    for s in range(len(org)):
        o, k, i = org[s], area[s], person[s]
        factor = 1.0
        if k > 0:
            factor = prerequisite_factor(status[i * K + k - 1], prerequisite_mean[k - 1],
                                         complementarity)
        gain = service_gain(theta_local[o, k, intervention[s]], expertise[o, k],
                            status[i * K + k], factor)
        live = live_cell(i, k, K, stage, pipeline)
        total[live] += gain
        count[live] += 1
    return total, count


@njit(cache=True)
def add_gains(status, cells, total, count, per_service):
    """Status in each served live cell (flat index ``cells``) rises by its services' combined
    gain, ``total x per_service[count]``, within [0, 1]."""
    for c in range(len(count)):
        if count[c] > 0:
            value = status[cells[c]] + total[c] * per_service[count[c]]
            status[cells[c]] = min(max(value, 0.0), 1.0)


@njit(cache=True)
def drift(status, target, cells, rate, offset):
    """Status in the live cells drifts toward its target shifted by ``offset``:
    ``s + rate x (clip(target + offset, 0, 1) - s)``."""
    for c in range(len(cells)):
        cell = cells[c]
        aim = min(max(target[cell] + offset, 0.0), 1.0)
        s = status[cell]
        status[cell] = s + rate * (aim - s)
