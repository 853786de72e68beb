"""The terminal text of `patient show` and `patient list` (plain text, no colour needed)."""

from __future__ import annotations

from typing import Any

from monitor.core.explain import flag_text, reason_text


def render_patient(doc: dict[str, Any]) -> str:
    lines = [f"{doc['mrn']}  {doc.get('name') or ''}  (clinic {doc['clinic']}, born {doc['birth_date']})".rstrip()]
    lines.append(f"As of {doc['as_of']}")
    tier = doc["tier"].upper() + (" (provisional)" if doc["provisional"] else "")
    lines.append(f"Tier: {tier}    AI: {doc['ai_status']}    BMA indicated: {'yes' if doc['bma_indicated'] else 'no'}")
    if doc["t_min"] is not None:
        lines.append(f"T-min: {doc['t_min']:+.1f} at {doc['t_min_site']} (DXA {doc['bmd_date']})")
    elif doc.get("bmd_date"):
        lines.append(f"Last DXA {doc['bmd_date']} is not usable ({doc['bmd_status']})")
    lines.append("Why:")
    lines += [f"  {r}: {reason_text(r)}" for r in doc["reasons"]]
    if doc["flags"]:
        lines.append("Flags:")
        lines += [f"  {f}: {flag_text(f)}" for f in doc["flags"]]
    if not doc["in_pathway"]:
        lines.append("Out of the pathway: " + ", ".join(doc["exit_reasons"]))
    if doc["alerts"]:
        lines.append("Alerts:")
        for a in doc["alerts"]:
            lines.append(f"  [{a['severity'].upper()}] {a['code']} since {a['since']}: {a['message']}")
    lines.append("Tasks:" if doc["tasks"] else "Tasks: none")
    for t in doc["tasks"]:
        ident = f"#{t['id']}" if t["id"] is not None else "#-"
        lines.append(
            f"  {ident:>6} {t['status']:<9} {t['kind']:<18} {t['rule']:<9} "
            f"{t['earliest']} → {t['target']} → {t['latest']}  {t['reason']}"
        )
    return "\n".join(lines)


def render_patient_list(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No patients."
    header = f"{'MRN':<16} {'clinic':<10} {'born':<10} {'sex':<7} {'tier':<9} {'AI':<8} deceased"
    out = [header]
    for r in rows:
        out.append(f"{r['mrn']:<16} {r['clinic']:<10} {r['birth_date']:<10} {r['sex']:<7} {r['tier']:<9} "
                   f"{r['ai_status']:<8} {r['deceased_date'] or ''}")
    out.append(f"{len(rows)} patient(s)")
    return "\n".join(out)
