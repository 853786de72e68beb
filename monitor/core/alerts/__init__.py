"""Alerts: one module per clinical check, each raising the codes it names (rules in docs/rules.md).

| module | codes |
|---|---|
| `exit` | ALERT-EXIT (she has left the pathway) |
| `denosumab` | ALERT-DMAB-LATE, ALERT-DMAB-LONG, ALERT-DMAB-REBOUND |
| `bp_duration` | ALERT-BP-DURATION |
| `renal` | ALERT-RENAL-ZOL5, -ZOL4, -ALN, -RIS, -IBN, ALERT-DMAB-CKD |
| `minerals` | ALERT-HYPOCA, ALERT-VITD |
| `dental` | ALERT-DENTAL, ALERT-ONJ, ALERT-AFF, ALERT-AFF-SYMPTOM |
| `oral_bp` | ALERT-ORAL-BP-ADMIN, ALERT-IBN-DOSE, ALERT-DUAL-ANTIRESORPTIVE |
| `interactions` | ALERT-RLX-AI, ALERT-HRT |
| `treatment_gap` | ALERT-TREATMENT-GAP |

`collect.plan_alerts` runs them for the planner; `view.AlertView` is the indexed facts they read
(the planner's Timeline plus results and notes), `predose` the "recent enough before a dose" test,
`found.Found` merges them to one alert per code.
"""
