"""ALERT-BP-DURATION (warn): the mandatory review of continuing at 10 years oral or 6 years IV.

Exposure counts as the holiday review does (`schedule.holiday.bp_exposure`); a holiday_review note
on or after the day the limit was reached answers it.
"""

from __future__ import annotations

from monitor.core.adherence import iv_months_reach, oral_days_reach
from monitor.core.domain import Alert, Severity
from monitor.core.schedule.holiday import bp_exposure, holiday_review_after, on_bisphosphonate
from monitor.core.timeline import Horizon, Timeline


def duration_alert(tl: Timeline, horizon: Horizon | None) -> Alert | None:
    """ALERT-BP-DURATION: the mandatory review at 10 years oral or 6 years IV."""
    if not on_bisphosphonate(tl):
        return None
    h = tl.policy.holiday
    exp = bp_exposure(tl)
    reached = [d for d in (oral_days_reach(exp.oral_fills, h.max_oral_days),
                           iv_months_reach(exp.iv_doses, h.max_iv_months)) if d is not None]
    if not reached:
        return None
    since = min(reached)
    if since > tl.on:
        if horizon is not None:
            horizon.add(since)
        return None
    if holiday_review_after(tl, since) is not None:
        return None
    return Alert("ALERT-BP-DURATION", Severity.WARN, since,
                 f"Bisphosphonate exposure reached {h.max_oral_days} oral days or {h.max_iv_months} IV months on "
                 f"{since}: mandatory review of continuing")
