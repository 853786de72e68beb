"""Bisphosphonate exposure, holiday and holiday reviews (docs/rules.md EXPOSURE, HOLIDAY, H-REVIEW).

Pure. Rule ids (the kind is `bp_holiday_review`, completed by a `holiday_review` note dated on or
after the window's earliest date — a review note written before the window opens, such as the note
that decided the holiday, does not complete a later review):

- H-REVIEW  on a bisphosphonate: review when exposure E first reaches 1, projected from the current
            regimen if continued; anchor = first bisphosphonate exposure; window target ± 90 d.
- H-HOLIDAY during a holiday: review at holiday start + 12 m (risedronate, ibandronate) or + 24 m
            (alendronate, zoledronic acid); earliest = target − 90 d; latest = holiday start + 36 m.
- H-RESUME  during a holiday, after a resume trigger: review due now (earliest = target = trigger
            date; latest = trigger + `resume_review_days`); plan flag HOLIDAY_RESUME_TRIGGER.

ALERT-BP-DURATION (warn) while on a bisphosphonate once oral days ≥ 3652 or IV months ≥ 72,
until a `holiday_review` note is written on or after that date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from monitor.core.adherence import Fill, exposure_reaches_one
from monitor.core.dates import add_days, add_months
from monitor.core.domain import Dose, Drug, MarkerAnalyte, NoteKind, TaskKind
from monitor.core.domain import Task as T
from monitor.core.lsc import Direction, bmd_changes
from monitor.core.regimen import Regimen, bp_regimen, iv_schedule
from monitor.core.risk import bmd_assessment
from monitor.core.timeline import AI_DRUGS, Timeline, first_after

KIND = TaskKind.BP_HOLIDAY_REVIEW
SHORT_HOLIDAY_DRUGS = (Drug.RISEDRONATE, Drug.IBANDRONATE)


@dataclass(frozen=True, slots=True)
class Holiday:
    decided: date  # the stop or note that began it (the last BP dose for an undated note)
    start: date  # HOLIDAY "Holiday start": oral, the last dose; IV, the last dose + its interval
    drug: Drug


def holiday_of(tl: Timeline) -> Holiday | None:
    """The bisphosphonate holiday in progress on `tl.on`, if any (memoised on the timeline).

    A holiday begins with a BP course stopped with a reason containing "holiday", or a
    `holiday_start` note; it ends with any BMA dose or course start after it. Denosumab never gets one.
    """
    if tl._holiday is False:
        tl._holiday = _holiday(tl)
    return tl._holiday  # type: ignore[return-value]


def _holiday(tl: Timeline) -> Holiday | None:
    decisions = [c.stop for c in tl.bp_courses
                 if c.stop is not None and c.stop_reason and "holiday" in c.stop_reason.lower()]
    decisions += tl.notes_of(NoteKind.HOLIDAY_START)
    if not decisions and NoteKind.HOLIDAY_START not in tl.undated_notes:
        return None
    if tl.on_denosumab():
        return None
    last = tl.bp_doses[-1] if tl.bp_doses else None
    if decisions:
        decided = max(decisions)  # type: ignore[type-var]
    elif last is not None:
        decided = last.date
    else:
        return None
    if first_after(tl.bma_events, decided, inclusive=False) is not None:
        return None  # resumed
    if last is None:
        stopped = [c for c in tl.bp_courses if c.start is not None]
        if not stopped:
            return None
        course = max(stopped, key=lambda c: c.start)  # type: ignore[arg-type,return-value]
        last = Dose(course.drug, course.stop or decided, dose_mg=course.dose_mg)
    schedule = iv_schedule(bp_regimen(last, tl.course_for(last), tl.policy.bp), tl.policy.bp)
    start = last.date if schedule is None else add_months(last.date, schedule.interval_months)
    return Holiday(decided, start, last.drug)


def on_bisphosphonate(tl: Timeline) -> bool:
    """An active BP course and no holiday in progress."""
    return bool(tl.active(tl.bp_courses)) and holiday_of(tl) is None


# --------------------------------------------------------------------------- exposure


@dataclass(frozen=True, slots=True)
class BpExposure:
    oral_fills: list[Fill]  # dispenses, plus whole courses recorded without any days supply
    iv_doses: list[tuple[date, int]]  # (dose date, interval months)
    oral_current: bool
    iv_projected: list[tuple[date, int]]  # the current IV regimen continued
    first: date | None  # first day of bisphosphonate exposure


def bp_exposure(tl: Timeline) -> BpExposure:
    p = tl.policy
    oral: list[Fill] = []
    iv: list[tuple[date, int]] = []
    oral_courses_with_supply: set[int] = set()
    last_iv: tuple[Dose, int, Regimen] | None = None
    zol4_in_course = 0
    for d in tl.bp_doses:
        course = tl.course_for(d)
        regimen = bp_regimen(d, course, p.bp)
        schedule = iv_schedule(regimen, p.bp)
        if schedule is None:
            if d.days_supply:
                oral.append((d.date, d.days_supply))
                if course is not None:
                    oral_courses_with_supply.add(id(course))
        else:
            iv.append((d.date, schedule.interval_months))
            if last_iv is None or course is not tl.course_for(last_iv[0]):
                zol4_in_course = 0
            zol4_in_course += regimen is Regimen.ZOL4
            last_iv = (d, schedule.interval_months, regimen)
    on_holiday = holiday_of(tl) is not None
    oral_current = False
    for c in tl.bp_courses:
        if c.start is None or c.drug is Drug.ZOLEDRONIC_ACID or id(c) in oral_courses_with_supply:
            continue
        if iv_schedule(bp_regimen(Dose(c.drug, c.start, dose_mg=c.dose_mg), c, p.bp), p.bp) is not None:
            continue
        # An open course without supply data covers every day: long enough for every threshold.
        span = (c.stop - c.start).days + 1 if c.stop is not None else (
            (tl.on - c.start).days + 1 + p.holiday.max_oral_days + p.holiday.oral_days_full)
        oral.append((c.start, span))
    for c in tl.active(tl.bp_courses):
        if not on_holiday and c.drug is not Drug.ZOLEDRONIC_ACID and iv_schedule(
                bp_regimen(Dose(c.drug, c.start or tl.on, dose_mg=c.dose_mg), c, p.bp), p.bp) is None:
            oral_current = True
    projected: list[tuple[date, int]] = []
    if last_iv is not None and not on_holiday:
        dose, months, regimen = last_iv
        course = tl.course_for(dose)
        if course is None or course.stop is None:
            remaining = p.holiday.iv_months_full // months + 1
            if regimen is Regimen.ZOL4:
                remaining = min(remaining, max(p.bp.zol4_max_doses - zol4_in_course, 0))
            projected = [(add_months(dose.date, months * k), months) for k in range(1, remaining + 1)]
    starts = [d for d, _ in oral] + [d for d, _ in iv]
    return BpExposure(oral, iv, oral_current, projected, min(starts) if starts else None)


# --------------------------------------------------------------------------- tasks


def holiday_review_after(tl: Timeline, since: date) -> date | None:
    """The first holiday_review note on or after `since`."""
    return first_after(tl.notes_of(NoteKind.HOLIDAY_REVIEW), since)


def _exposure_review(tl: Timeline, exp: BpExposure) -> T | None:
    h = tl.policy.holiday
    if exp.first is None:
        return None
    target = exposure_reaches_one(exp.oral_fills, exp.iv_doses + exp.iv_projected, h, oral_continues=exp.oral_current)
    if target is None:
        return None
    earliest = add_days(target, -h.review_window_days)
    return T(KIND, "H-REVIEW", exp.first, earliest, target, add_days(target, h.review_window_days),
             f"Bisphosphonate exposure since {exp.first} reaches {h.oral_days_full} oral days or "
             f"{h.iv_months_full} IV months on {target}: holiday review",
             done_on=holiday_review_after(tl, earliest), grace_days=h.review_window_days)


def resume_triggers(tl: Timeline, hol: Holiday) -> list[tuple[date, str]]:
    """H-RESUME triggers dated after the holiday decision."""
    p = tl.policy
    after = hol.decided
    changes = bmd_changes(tl.facts.dxa, p, after=after)
    out = [(f.date, f"fragility fracture on {f.date}") for f in tl.facts.fractures if f.is_fragility and f.date > after]
    out += [(c.date, f"significant BMD loss at {c.site.value} on {c.date}")
            for c in changes if c.direction is Direction.LOSS and c.date > after]
    out += [(c.start, f"AI started on {c.start}") for c in tl.courses
            if c.drug in AI_DRUGS and c.start is not None and c.start > after]
    osteo = Decimal(str(p.risk.osteoporosis_t_max))
    exams = [d for d in tl.dxa_dates if d > after]
    if exams:
        before = bmd_assessment(tl.facts, after, p).usable_t
        if before is None or before > osteo:
            for exam in exams:
                t = bmd_assessment(tl.facts, exam, p).t_min
                if t is not None and t <= osteo:
                    out.append((exam, f"T-score newly {t} on {exam}"))
                    break
    ctx = [m for m in tl.facts.markers if m.analyte is MarkerAnalyte.CTX]
    first_bma = tl.bma_events[0] if tl.bma_events else None
    base = [m for m in ctx if first_bma is not None and m.date <= first_bma]
    baseline = max(base, key=lambda m: m.date).value if base else None  # the pre-treatment CTX
    upper = p.btm.ctx_premenopausal_upper_ng_l
    for m in ctx:
        if m.date > after and (m.value > upper or (baseline is not None and m.value >= baseline)):
            out.append((m.date, f"CTX {m.value:g} ng/L on {m.date} back to the pre-treatment level or above"))
    out.sort()
    return out


def _holiday_reviews(tl: Timeline, hol: Holiday) -> list[T]:
    h = tl.policy.holiday
    months = h.review_months_short if hol.drug in SHORT_HOLIDAY_DRUGS else h.review_months_long
    target = add_months(hol.start, months)
    earliest = add_days(target, -h.review_window_days)
    latest = add_months(hol.start, h.review_latest_months)
    out = []
    done_until: date | None = None
    for day, why in resume_triggers(tl, hol):
        if done_until is not None and day <= done_until:
            continue
        end = add_days(day, h.resume_review_days)
        done = holiday_review_after(tl, day)
        out.append(T(KIND, "H-RESUME", day, day, day, end, f"Holiday resume trigger: {why}: holiday review now",
                     done_on=done, grace_days=h.resume_review_days))
        if done is None:
            break
        done_until = done
    out.append(T(KIND, "H-HOLIDAY", hol.start, earliest, target, max(latest, target),
                 f"{hol.drug.value} holiday since {hol.start}: review at {months} months",
                 done_on=holiday_review_after(tl, earliest)))
    return out


def holiday_review_tasks(tl: Timeline) -> tuple[T | None, T | None]:
    """(open task, most recently completed task) of kind bp_holiday_review."""
    hol = holiday_of(tl)
    if hol is not None:
        candidates = _holiday_reviews(tl, hol)
    elif on_bisphosphonate(tl):
        review = _exposure_review(tl, bp_exposure(tl))
        candidates = [review] if review is not None else []
    else:
        return None, None
    open_task = next((t for t in candidates if t.done_on is None), None)
    done = [t for t in candidates if t.done_on is not None]
    return open_task, max(done, key=lambda t: t.done_on) if done else None  # type: ignore[arg-type,return-value]
