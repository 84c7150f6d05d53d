"""What to do, per rule. Plain suggestions about load, never a risk percentage."""
from __future__ import annotations

SCALE_BACK = "Scale the plan back for the next few days: shorter runs, easier pace, and drop the hardest session of the week."
REST_DAYS = "Put at least one full rest day into the coming week, and keep an easy day after every hard one."
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
CHECK_SOURCE = "Check the connection: re-authorise the account or look at the folder the watch files land in."

ADVICE: dict[str, list[str]] = {
    "load_spike": [SCALE_BACK, REST_DAYS, FUEL, DOCTOR],
    "late_fade": [PACING, FUEL, STRENGTH, KIT],
    "recurring_fade": [SCALE_BACK, STRENGTH, FUEL, ROUTINE, DOCTOR],
    "decoupling": [PACING, FUEL, REST_DAYS],
    "monotony": [REST_DAYS, SCALE_BACK, ROUTINE],
    "no_rest": [REST_DAYS, ROUTINE, STRENGTH],
    "comeback": [BUILD_GRADUALLY, SCALE_BACK, STRENGTH, DOCTOR],
    "source_stalled": [CHECK_SOURCE],
    "history_summary": [],
    "digest": [],
    "test": [],
}


def advice_for(rule: str) -> list[str]:
    return list(ADVICE.get(rule, []))
