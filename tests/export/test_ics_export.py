"""`bonemon export ics`: open tasks as iCalendar VTODOs (docs/formats.md).

DUE = target, DTSTART and the alarm on the earliest day, no name unless --with-names, UIDs that
follow the task (patient + rule + anchor) so a newer file updates a calendar instead of doubling it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from monitor.export.ics import IcsTask, calendar, sequence, task_uid

pytest_plugins = ["tests.dbfixtures"]

NOW = datetime(2025, 6, 1, 11, 0, tzinfo=UTC)
OPEN = ("upcoming", "due", "overdue", "snoozed")


def parse(data: bytes):
    from icalendar import Calendar

    return Calendar.from_ical(data)


def todos(data: bytes) -> list:
    return [c for c in parse(data).walk() if c.name == "VTODO"]


def alarm_day(todo) -> date:
    """The day the VTODO's alarm fires (its trigger is relative to DTSTART, or to DUE when there is none)."""
    alarm = next(c for c in todo.walk() if c.name == "VALARM")
    trigger = alarm["TRIGGER"]
    related = trigger.params.get("RELATED", "START")
    base = todo["DTSTART" if related == "START" else "DUE"].dt
    return (datetime.combine(base, datetime.min.time()) + trigger.dt).date()


def task(**kw) -> IcsTask:
    values = dict(clinic="main", mrn="P001", kind="dxa", rule="D3", anchor=date(2024, 1, 5),
                  earliest=date(2024, 7, 5), target=date(2025, 1, 5), latest=date(2025, 2, 4), status="overdue",
                  task_id=17, name="Jane Doe")
    values.update(kw)
    return IcsTask(**values)


# --------------------------------------------------------------------------- pure


def test_one_vtodo_per_open_task_with_due_start_and_alarm_to_the_day():
    tasks = [task(), task(rule="V1", kind="risk_review", status="upcoming", earliest=date(2025, 7, 1),
                          target=date(2025, 9, 1), latest=date(2025, 10, 1)),
             task(rule="B2", kind="btm", status="done"), task(rule="N1", kind="denosumab_dose", status="done_late")]
    items = todos(calendar(tasks, now=NOW, as_of=date(2025, 6, 1)))
    assert len(items) == 2
    by_rule = {str(t["SUMMARY"]).split()[0]: t for t in items}
    dxa = by_rule["DXA"]
    assert dxa["DTSTART"].dt == date(2024, 7, 5)
    assert dxa["DUE"].dt == date(2025, 1, 5)
    assert alarm_day(dxa) == date(2024, 7, 5)
    assert str(dxa["STATUS"]) == "NEEDS-ACTION"
    assert str(dxa["UID"]) == task_uid("main", "P001", "D3", date(2024, 1, 5))
    assert dxa["DTSTAMP"].dt == NOW
    assert "2025-02-04" in str(dxa["DESCRIPTION"])  # latest: when bonemon calls it overdue


def test_a_window_that_opens_on_its_target_day_has_its_alarm_on_that_day():
    t = task(earliest=date(2025, 6, 1), target=date(2025, 6, 1), latest=date(2025, 6, 30), status="due")
    (item,) = todos(calendar([t], now=NOW, as_of=date(2025, 6, 1)))
    assert "DTSTART" not in item
    assert item["DUE"].dt == date(2025, 6, 1)
    assert alarm_day(item) == date(2025, 6, 1)


def test_no_name_unless_asked_and_no_other_personal_detail():
    t = task(name="Jane Doe")
    data = calendar([t], now=NOW, as_of=date(2025, 6, 1))
    assert b"Jane" not in data and b"Doe" not in data
    (item,) = todos(data)
    assert str(item["SUMMARY"]) == "DXA overdue — MRN P001"
    named = calendar([t], now=NOW, as_of=date(2025, 6, 1), with_names=True)
    assert str(todos(named)[0]["SUMMARY"]) == "DXA overdue — MRN P001 (Jane Doe)"


def test_uid_follows_patient_rule_and_anchor_only():
    uid = task_uid("main", "P001", "D3", date(2024, 1, 5))
    assert uid == task_uid("main", "P001", "D3", date(2024, 1, 5))
    assert uid.endswith("@bonemon")
    others = {task_uid("main", "P002", "D3", date(2024, 1, 5)), task_uid("north", "P001", "D3", date(2024, 1, 5)),
              task_uid("main", "P001", "D2", date(2024, 1, 5)), task_uid("main", "P001", "D3", date(2024, 1, 6))}
    assert uid not in others and len(others) == 4
    moved = task(earliest=date(2024, 8, 1), target=date(2025, 2, 1), task_id=99)
    assert str(todos(calendar([moved], now=NOW, as_of=date(2025, 6, 1)))[0]["UID"]) == uid


def test_sequence_grows_with_the_stored_task_revision():
    assert sequence(None) == 0
    first, later = datetime(2025, 6, 1, 10, tzinfo=UTC), datetime(2025, 6, 2, 10, tzinfo=UTC)
    assert 0 < sequence(first) < sequence(later) < 2**31
    assert sequence(first.replace(tzinfo=None)) == sequence(first)


def test_acknowledged_task_is_in_process():
    (item,) = todos(calendar([task(acknowledged=True)], now=NOW, as_of=date(2025, 6, 1)))
    assert str(item["STATUS"]) == "IN-PROCESS"


# --------------------------------------------------------------------------- CLI


def _patients(cli) -> None:
    cli.ok("patient", "add", "P1", "--birth-date", "1955-01-01", "--name", "Jane Doe", "--menopause", "post")
    cli.ok("therapy", "start", "P1", "--drug", "anastrozole", "--date", "2024-01-10")
    cli.ok("record", "dxa", "P1", "--date", "2024-01-05", "--site", "total_hip", "--t-score", "-2.6")
    cli.ok("patient", "add", "P2", "--birth-date", "1950-05-05", "--name", "Mary Roe", "--clinic", "north")
    cli.ok("therapy", "start", "P2", "--drug", "letrozole", "--date", "2025-07-15", "--planned")
    cli.ok("patient", "add", "P3", "--birth-date", "1948-02-02", "--name", "Ann Poe")


def _open_tasks(cli, mrn: str) -> list[dict]:
    doc = cli.json("patient", "show", mrn, "--json")
    return [t for t in doc["tasks"] if t["status"] in OPEN]


def _by_mrn(items) -> dict[str, list]:
    out: dict[str, list] = {}
    for t in items:
        out.setdefault(str(t["SUMMARY"]).split("MRN ")[1].split()[0], []).append(t)
    return out


def test_cli_calendar_holds_every_open_task_with_its_dates(cli, tmp_path, today):
    _patients(cli)
    out = tmp_path / "tasks.ics"
    result = cli.ok("export", "ics", "--out", out)
    items = todos(out.read_bytes())
    assert f"to {out}" in result.stdout
    by_mrn = _by_mrn(items)
    for mrn in ("P1", "P2", "P3"):
        expected = _open_tasks(cli, mrn)
        got = by_mrn.get(mrn, [])
        assert len(got) == len(expected), mrn
        for t in expected:
            item = next(i for i in got if f"task {t['id']}:" in str(i["DESCRIPTION"]))
            assert item["DUE"].dt.isoformat() == t["target"]
            if t["earliest"] < t["target"]:
                assert item["DTSTART"].dt.isoformat() == t["earliest"]
            assert alarm_day(item).isoformat() == t["earliest"]
            assert str(item["UID"]) == task_uid("north" if mrn == "P2" else "main", mrn, t["rule"],
                                               date.fromisoformat(t["anchor"]))
    data = out.read_bytes()
    for secret in (b"Jane", b"Mary", b"Roe", b"1955-01-01", b"19550101"):
        assert secret not in data


def test_cli_with_names_and_clinic_filter(cli, tmp_path, today):
    _patients(cli)
    stdout = cli.ok("export", "ics", "--with-names", "--clinic", "north").stdout.encode()
    items = todos(stdout)
    assert items and all("MRN P2 (Mary Roe)" in str(t["SUMMARY"]) for t in items)


def test_cli_uids_stable_across_exports_and_a_replan_and_a_calendar_updates_instead_of_doubling(cli, tmp_path,
                                                                                                 today):
    from freezegun import freeze_time

    _patients(cli)
    first = tmp_path / "1.ics"
    cli.ok("export", "ics", "--out", first)
    with freeze_time("2025-06-01 15:30:00"):
        cli.ok("record", "lab", "P1", "--date", "2025-05-20", "--analyte", "calcium", "--value", "2.3",
               "--unit", "mmol/L")
        second = tmp_path / "2.ics"
        cli.ok("export", "ics", "--out", second)
    a = {str(t["UID"]): t for t in todos(first.read_bytes())}
    b = {str(t["UID"]): t for t in todos(second.read_bytes())}
    assert a.keys() == b.keys()
    store: dict[str, tuple[int, datetime]] = {}  # a calendar: one to-do per UID, newest revision wins
    for items in (a, b):
        for uid, t in items.items():
            revision = (int(t["SEQUENCE"]), t["DTSTAMP"].dt)
            assert uid not in store or revision > store[uid]
            store[uid] = revision
    assert len(store) == len(a)
    for uid in a:
        assert int(b[uid]["SEQUENCE"]) >= int(a[uid]["SEQUENCE"])
        assert b[uid]["DTSTAMP"].dt > a[uid]["DTSTAMP"].dt


def test_cli_window_change_keeps_the_uid_and_raises_the_sequence(cli, tmp_path, today):
    """Starting denosumab brings the visit (V1, same anchor: the AI start) forward from 12 to 6 months."""
    from freezegun import freeze_time

    cli.ok("patient", "add", "P1", "--birth-date", "1955-01-01", "--menopause", "post")
    cli.ok("record", "dxa", "P1", "--date", "2025-01-05", "--site", "total_hip", "--t-score", "-1.8")
    cli.ok("therapy", "start", "P1", "--drug", "anastrozole", "--date", "2025-01-10")
    uid = task_uid("main", "P1", "V1", date(2025, 1, 10))
    before = {str(t["UID"]): t for t in todos(cli.ok("export", "ics").stdout.encode())}
    with freeze_time("2025-06-01 16:00:00"):
        cli.ok("therapy", "start", "P1", "--drug", "denosumab", "--date", "2025-02-01", "--dose-mg", "60")
        cli.ok("record", "dose", "P1", "--drug", "denosumab", "--date", "2025-02-01", "--dose-mg", "60")
        after = {str(t["UID"]): t for t in todos(cli.ok("export", "ics").stdout.encode())}
    assert before[uid]["DUE"].dt == date(2026, 1, 10)
    assert after[uid]["DUE"].dt == date(2025, 7, 10)
    assert int(after[uid]["SEQUENCE"]) > int(before[uid]["SEQUENCE"])
    assert after[uid]["DTSTAMP"].dt > before[uid]["DTSTAMP"].dt
    for kept in before.keys() & after.keys():
        assert int(after[kept]["SEQUENCE"]) >= int(before[kept]["SEQUENCE"])


def test_cli_bad_output_and_clinic(cli, tmp_path, today):
    _patients(cli)
    line = cli.error("export", "ics", "--out", tmp_path / "missing" / "tasks.ics")
    assert "out" in line and "no folder" in line
    assert "folder" in cli.error("export", "ics", "--out", tmp_path)
    assert "clinic" in cli.error("export", "ics", "--clinic", "nowhere")
    assert not (tmp_path / "missing").exists()


def test_cli_as_of_moves_statuses(cli, tmp_path, today):
    _patients(cli)
    later = todos(cli.ok("export", "ics", "--as-of", "2027-01-01").stdout.encode())
    assert later
    assert all("as of 2027-01-01" in str(t["DESCRIPTION"]).replace("\n", " ") for t in later)
