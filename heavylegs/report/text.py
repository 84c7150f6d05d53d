"""The report's fixed explanatory text and style (static HTML, no user data)."""
from __future__ import annotations

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 960px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.meta { color: #666; margin-top: 0; } .summary { font-size: 1.15em; background: #f4f6fa; padding: 0.7em 1em;
       border-left: 4px solid #1f5fa8; }
img { max-width: 100%; height: auto; display: block; margin: 0.8em 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { padding: 0.3em 0.5em; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
small { color: #777; } footer { margin: 3em 0 1em; color: #777; font-size: 0.85em; }
cite { font-style: normal; }
"""

ACWR_TEXT = """
<p>Each bar is one day's training load: Banister's TRIMP, which weights time by how high your heart rate
was between your resting and maximum heart rate. Activities without enough heart-rate data get a load
estimated from their duration and grade-adjusted pace, using a model fitted on your own runs with heart rate.
The orange line is the <em>acute</em> load (average of the last 7 days), the blue line the <em>chronic</em>
load (average of the last 28 days).</p>
<p>The lower panel is their ratio, the acute:chronic workload ratio (ACWR), computed from rolling averages
with the last week included in the 4-week average (&ldquo;coupled&rdquo;); the dashed line is the variant
with exponentially weighted averages (EWMA). It describes a <strong>change in load</strong>: 1.0 means your
last week matched your last month, 1.5 means the last week was 50% above it. The shaded band, 0.8 to 1.3,
marks weeks roughly in line with what you have been doing. ACWR is not an injury prediction: its use as a
predictor of injury is disputed (<cite>Impellizzeri FM et al. 2020, &ldquo;Acute:Chronic Workload Ratio:
Conceptual Issues and Fundamental Pitfalls&rdquo;, Int J Sports Physiol Perform 15(6):907&ndash;913</cite>).
Treat a high value as a prompt to look at how quickly your running has increased.</p>
"""

FADE_TEXT = """
<p><em>Late fade</em> compares your grade-adjusted pace over the last quarter of a run with the stretch
from 10% to 60% of its distance: +8% means the end was 8% slower, hills taken into account. It is most
telling on runs meant to be steady; intervals and progression runs fade (or speed up) by design.
<em>Decoupling</em> (Friel's Pa:HR) compares pace per heartbeat in the second half of the run (after a
10-minute warm-up) with the first half: a positive value means your heart rate drifted up for the same
pace, which heat, dehydration and fatigue all cause. &ldquo;vs usual&rdquo; in the table is the fade minus
the median fade of your previous 10 steady runs, in percentage points.</p>
"""

LONG_RUN_TEXT = """
<p>Pace and grade-adjusted pace (what the pace would have been on the flat, after Minetti et al. 2002)
along your latest long run, with heart rate. The shaded areas are the early and late stretches that the
fade compares. A grade-adjusted pace that sags at the end while heart rate holds or climbs is the pattern
heavylegs watches for.</p>
"""
