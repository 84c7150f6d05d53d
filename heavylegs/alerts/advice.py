"""What to do, by rule, cause and severity. Plain suggestions about load, never a risk percentage.

The "see a professional" paragraph belongs to heaviness that keeps coming back and
that rest does not fix (recurring_fade, or a runner whose load episodes repeat), not
to an ordinary load caution: on a routine week it reads as alarmist.
"""
from __future__ import annotations

EASE_OFF = "Keep the next two or three days easy and do not add more this week; the load you did is fine to absorb."
SCALE_BACK = "Scale the plan back for the next few days: shorter runs, easier pace, and drop the hardest session of the week."
REST_NOW = "Take a rest day or a very easy day before your next hard session."
REST_DAYS = "Put at least one full rest day into the coming week, and keep an easy day after every hard one."
VARY = "Alternate harder and easier days: an easy or rest day after each long or fast session gives the legs room to recover."
STRENGTH = "Do strength work twice a week (calves, hips, thighs, core); stronger legs tire later."
FUEL = "Drink and eat well through the whole day, not only around runs; long runs on an empty tank fade early."
KIT = "Check your kit: shoes that are comfortable and not worn out, clothes that do not rub or squeeze."
ROUTINE = "Before runs, a short massage and stretching routine; afterwards, ice on sore spots or heat on tight ones."
PACING = "Start long runs more gently and hold back in the first half, so the second half is not a struggle."
DOCTOR = (
    "See a physiotherapist or doctor if the heaviness comes with swelling or visible varicose veins (this can be a vein "
    "problem), or with cramping pain that comes back in the same place on every run and goes away when you stop "
    "(chronic exertional compartment syndrome)."
)
BUILD_GRADUALLY = "After a break, build back over a few weeks: start with short easy runs and add a little each week."
BACK_TO_PLAN = "Cut this week back to the re-entry plan: fewer and shorter runs, all easy, no intervals or long run yet."
LISTEN = "Stop a run and walk if a spot hurts rather than aches; pain that changes how you run is a reason to pause."
CHECK_SOURCE = "Check the connection: re-authorise the account or look at the folder the watch files land in."

ADVICE: dict[str, list[str]] = {
    "load_spike": [SCALE_BACK, REST_DAYS, FUEL],
    "late_fade": [PACING, FUEL, STRENGTH, KIT],
    "recurring_fade": [SCALE_BACK, STRENGTH, FUEL, ROUTINE, DOCTOR],
    "decoupling": [PACING, FUEL, REST_DAYS],
    "monotony": [VARY, REST_DAYS, ROUTINE],
    "no_rest": [REST_DAYS, ROUTINE, STRENGTH],
    "comeback": [BUILD_GRADUALLY, STRENGTH, LISTEN],
    "source_stalled": [CHECK_SOURCE],
    "history_summary": [],
    "digest": [],
    "test": [],
}

# (rule, severity) -> advice, where the severity changes what is worth saying.
BY_SEVERITY: dict[tuple[str, str], list[str]] = {
    ("load_spike", "caution"): [EASE_OFF, REST_DAYS],
    ("load_spike", "warning"): [SCALE_BACK, REST_DAYS, FUEL],
    ("load_spike", "urgent"): [REST_NOW, SCALE_BACK, REST_DAYS],
    ("comeback", "info"): [BUILD_GRADUALLY, STRENGTH],
    ("comeback", "caution"): [BUILD_GRADUALLY, STRENGTH, LISTEN],
    ("comeback", "warning"): [BACK_TO_PLAN, LISTEN, STRENGTH],
}


def advice_for(rule: str, severity: str | None = None, *, first: list[str] | None = None,
               recurring: bool = False) -> list[str]:
    """Advice for ``rule`` at ``severity``; ``first`` (e.g. a re-entry plan with numbers) leads the list;
    ``recurring``: the same heaviness keeps coming back, so the "see a professional" paragraph is added."""
    base = BY_SEVERITY.get((rule, severity or ""), ADVICE.get(rule, []))
    out = list(first or []) + list(base)
    if recurring and DOCTOR not in out:
        out.append(DOCTOR)
    return out
