"""Drugs that must not be given with her endocrine therapy: ALERT-RLX-AI and ALERT-HRT."""

from __future__ import annotations

from monitor.core.alerts.found import Found
from monitor.core.alerts.view import AlertView
from monitor.core.domain import AIStatus, Drug, Severity


def interaction_alerts(v: AlertView, out: Found) -> None:
    ai_plus = v.assessment.ai_status in (AIStatus.CURRENT, AIStatus.PLANNED)
    for rlx in v.on(lambda d: d is Drug.RALOXIFENE):
        partners = v.on(lambda d: d is Drug.TAMOXIFEN)
        if ai_plus:
            partners += v.on(lambda d: d.is_ai) or [c for c in v.planned if c.drug.is_ai]
        if partners:
            since = max([rlx.start] + [c.start for c in partners if c.start is not None])  # type: ignore[type-var]
            out.add("ALERT-RLX-AI", Severity.BLOCK, since,
                    f"Raloxifene (since {rlx.start}) with {' and '.join(sorted({c.drug.value for c in partners}))}: "
                    "stop raloxifene; a SERM is not given with an aromatase inhibitor or tamoxifen")
    for c in v.on(lambda d: d is Drug.OESTROGEN):
        out.add("ALERT-HRT", Severity.BLOCK, c.start,  # type: ignore[arg-type]
                f"Systemic oestrogen (since {c.start}) in hormone-receptor-positive breast cancer: stop it")
