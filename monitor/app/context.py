"""Who is acting, when, under which configuration; and the pure core run for one patient on a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from monitor.clock import clinic_today
from monitor.core.domain import Assessment, PatientFacts, Plan
from monitor.settings import Settings


@dataclass(frozen=True)
class Context:
    """Who is acting, when, under which configuration."""

    settings: Settings
    user: str
    now: datetime

    @property
    def today(self) -> date:
        return clinic_today(self.now, self.settings.tz)


def evaluate(facts: PatientFacts, as_of: date, settings: Settings) -> tuple[Assessment, Plan]:
    """The pure core: tier and plan as of a date."""
    from monitor.core.plan import plan
    from monitor.core.risk import assess

    assessment = assess(facts, as_of=as_of, policy=settings.policy)
    return assessment, plan(facts, assessment, as_of=as_of, policy=settings.policy)
