"""Plain-language text for the page, in the spirit of NetLogo's Info tab: what you are
looking at, things to notice, things to try. Kept here so the wording can be edited without
touching the page's code."""

from __future__ import annotations

from dataclasses import dataclass

LEAD = """
**Can organizations achieve more together than working alone?** Two versions of one
community, side by side: **isolated impact** (orange) and **collective impact** (blue), with
a backbone organization paid from the same money.
"""

INTRO = """
**Can a group of organizations achieve more together than the same organizations working
alone?** This page runs two versions of one community side by side.

* **Isolated impact** (orange): every organization runs its own programs in its own
  neighbourhood, picks what it believes works from its own evidence, and is funded on its own.
* **Collective impact** (blue): the same organizations, the same young people and the same
  money, but part of the money pays for a *backbone* organization that helps them agree on a
  common agenda, measure results the same way, share what works and keep talking
  (Kania & Kramer, 2011).

Both sides use the same random world (the *seed*), so any difference between them comes from
how the organizations work together, not from luck. Both start from a community where the
same organizations have already worked alone for years (a *burn-in*): they already screen
their applicants for need, never serve one person twice in a quarter, and have learned what
works from their own evidence. Collective impact has to beat *competent* organizations.
"""

HOW_IT_WORKS = """
**How it works.** Young people move through six stages, from kindergarten readiness to
college completion, two years each; how well they leave one stage carries into the next.
Each quarter every organization buys as many services as its grant allows,
screens the applicants at its door for need with its own rough assessment, and serves the
neediest. It learns which of its programs work from its own noisy results. On the collective
side, part of the money pays a backbone: its staff build a shared data system (it matures
only as fast as partners share their records), keep partners talking (trust), and help them
agree on an agenda and on shared ways to measure (agreement grows only through that work).
Once records match and partners trust each other, some services go by *referral* to people
the data system knows need them most (a record follows a young person into the next stage),
and partners learn from each other's results. Partners give some of their own time to
working groups, and stay only while what they get back seems worth it. Nobody knows the
truth: every decision uses measured, noisy values.

**A 20-minute lesson.** (1) Run the default to the end: which side is ahead, and why?
(2) Set the backbone share to 0, then 1%, 10% and 30%. (3) Switch the conditions off one at
a time. (4) Raise control tightness to 0.8. (5) Pin the runs you want to compare and read
the gap chart. (6) Press *New world*: does the answer hold?
"""

HOW_TO = """
1. Pick a **scenario** or move the **levers** on the left. Changing a lever starts both runs
   again from quarter 0. You can also type an exact value in the box beside each slider.
2. Press **Step** to advance one quarter (three months), **Play** to keep going,
   **Run to the end** to jump to the horizon, **Reset** to start the same runs over.
3. Watch the numbers and pictures below. When you like a setting, **export** it: the file
   reproduces exactly this run with `collective-impact run`, and `collective-impact compare`
   tests it over many seeds.
"""


@dataclass(frozen=True)
class Caption:
    what: str
    notice: str
    try_: str


CAPTIONS: dict[str, Caption] = {
    "scoreboard": Caption(
        what="The latest numbers for each side. The composite index is the average status of "
             "all young people, each in their current stage (0 = worst, 1 = best; young "
             "people differ by about 0.1). An indicator trends the right way when the yearly "
             "report card, measured on a sample, shows a stage's average, its share on track "
             "or its equity gap better than in the baseline year.",
        notice="The backbone and the partners' time in working groups cost money that the "
               "isolated side spends on programs, so the collective side starts behind. At the "
               "default settings the gap is deepest in years 2 to 4 and then narrows, but "
               "it does not catch up within ten years: the gains from referrals, hand-offs "
               "and shared data are smaller than what the connective tissue costs. The line "
               "under the cards says how often your backbone share beats working alone "
               "across plausible worlds.",
        try_="Run to the end, then change one lever at a time and run again.",
    ),
    "composite": Caption(
        what="The composite index over time: orange for isolated impact, blue for collective "
             "impact. The dotted line is where both started. Below it, the gap between them, "
             "quarter by quarter: blue bars where collective impact is ahead, orange where it "
             "is behind, with the deepest dip and the quarter it pulls ahead (if it does) "
             "marked.",
        notice="Building trust and a shared data system takes years, and the data system "
               "matures only as fast as partners actually share. Does the blue line ever "
               "catch up, and when?",
        try_="Set the backbone share to 0: with no backbone the two lines become the same. "
             "Then try 1%, 10% and 30%: is a bigger backbone better? Then lower the "
             "participation cost or raise trust growth: which worlds let collective impact "
             "pay?",
    ),
    "areas": Caption(
        what="One panel per stage of the cradle-to-career pipeline: the share of young people "
             "on track in that area (or their average status; switch above the chart).",
        notice="The share on track and the average status can disagree: referrals send "
               "services to the furthest behind, who gain a lot without crossing the on-track "
               "line, so one side can be ahead on the average and behind on the share. The "
               "headline above uses the composite index, the average over all stages.",
        try_="Set complementarity to 1 and then to 0, and compare how the later stages "
             "respond on each side.",
    ),
    "report_card": Caption(
        what="Left: the report card. Once a year a sample of young people in each stage is "
             "assessed, and each stage's three indicators (average status, share on track, "
             "gap between the best- and worst-off fifths) are compared with the baseline "
             "year's, as Strive reported '34 of 53 indicators trending in the right "
             "direction'. Right: each stage's average status now, collective minus isolated.",
        notice="The report card is noisy: in a world where nothing changes about half the "
               "indicators trend the right way by chance, so a count near half says little. "
               "Young people move up a stage each year, so what changes in the early stages "
               "reaches the later ones only years later, as they carry it there.",
        try_="Open the recession scenario: budgets are cut and families are under strain in "
             "years 3 and 4. Watch both report cards fall, and which side recovers first.",
    ),
    "money": Caption(
        what="First (left, or on top on a phone): money spent each quarter. Blue is program "
             "money on the collective side, dark blue the backbone, the dashed orange line "
             "the isolated side's program money (the whole pool). Then: where this "
             "quarter's program money goes, by area.",
        notice="Isolated organizations spend where their missions are; a common agenda moves "
               "money toward the areas with the biggest gaps. Program money on the collective "
               "side is what is left after the backbone and the partners' working-group time.",
        try_="Lower the initial metric agreement and open no_shared_metrics: records no "
             "longer match, referrals and shared "
             "learning slow down, and the connective tissue buys less.",
    ),
    "trust": Caption(
        what="Left: average trust of organizations toward the collaborative. Right: the share "
             "of organizations taking part in it.",
        notice="On the isolated side there is no collaborative to trust or join. On the "
               "collective side, regular communication builds trust, and organizations stay "
               "only while what they get back (referred clients, partners' shared evidence) "
               "looks worth their time.",
        try_="Raise the control tightness to 0.8: a backbone that dictates instead of "
             "aligning loses trust, and partners leave.",
    ),
    "network": Caption(
        what="Each dot is an organization, placed with the others that spend most on the "
             "same area (colour); a bigger dot is a bigger grant. On the collective side a "
             "line links every participant to the backbone in the middle: the thicker and "
             "darker, the more that organization trusts the collaborative. Faded dots work on "
             "their own.",
        notice="The isolated side is six silos with no links between them: the picture of "
               "isolated impact. On the collective side, watch organizations join, links "
               "thicken as trust grows, and dots move to other areas as the common agenda "
               "pulls effort toward the gaps.",
        try_="Underfund the backbone (a share of 1%) with many organizations (200): a few "
             "staff cannot support everyone, so fewer take part and links stay thin.",
    ),
}
