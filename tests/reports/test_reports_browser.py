"""The HTML reports opened in real headless Chromium: the page renders, its script runs under the page's
Content-Security-Policy, the plots are drawn, and a patient named `<script>alert(1)</script>` is text.

This is the only test allowed to skip, and only when Chromium is not installed (Debian package
`chromium`; .ci/run installs it).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from monitor.app.documents import patient_document
from monitor.core.history import patient_adherence
from monitor.core.plan import plan
from monitor.core.risk import assess
from monitor.demo.cohort import SCRIPT_INDEX, SCRIPT_NAME, generate_cohort
from reports.adherence import AdherenceMeta, build, render_html
from reports.patient import render_patient_html

AS_OF = date(2025, 6, 1)
GENERATED = datetime(2025, 6, 1, 11, 0, tzinfo=UTC)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--disable-dev-shm-usage"]
LUMBAR_BLUE = (0x1F, 0x5F, 0xA8)  # reports.plot_style.SITE_COLOUR[lumbar spine]
BAR_BLUE = (0x4A, 0x9B, 0xE0)  # the monthly on-time bars
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed (Debian package `chromium`; `.ci/run` installs it with "
                "`apt-get install -y chromium`), so the HTML reports were not opened in a real browser")


def run_chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"chromium failed ({result.returncode}): {result.stderr[-2000:]}"
    return result


def dom(tmp_path: Path, page: Path) -> str:
    return run_chromium(tmp_path, page, "--virtual-time-budget=3000", "--dump-dom").stdout


def pixels(tmp_path: Path, page: Path, height: int) -> np.ndarray:
    from PIL import Image

    shot = tmp_path / f"{page.stem}.png"
    run_chromium(tmp_path, page, f"--window-size=1280,{height}", f"--screenshot={shot}")
    return np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("RGB"))


def count(image: np.ndarray, rgb: tuple[int, int, int]) -> int:
    return int((image == np.array(rgb, dtype=image.dtype)).all(axis=2).sum())


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from monitor.settings import default_policy

    chromium()  # skip before building anything when there is no browser

    policy = default_policy()
    cohort = list(generate_cohort(12, seed=42, as_of=AS_OF))
    facts = cohort[SCRIPT_INDEX]
    assert facts.patient.name == SCRIPT_NAME
    a = assess(facts, as_of=AS_OF, policy=policy)
    doc = patient_document(facts, a, plan(facts, a, as_of=AS_OF, policy=policy), AS_OF)
    folder = tmp_path_factory.mktemp("pages")
    patient = folder / "patient.html"
    patient.write_text(render_patient_html(doc, facts, as_of=AS_OF, policy=policy, generated_at=GENERATED),
                       encoding="utf-8")
    records = [patient_adherence(f, start=date(2024, 6, 2), end=AS_OF, policy=policy) for f in cohort]
    adherence = folder / "adherence.html"
    adherence.write_text(render_html(build(records, AdherenceMeta(date(2024, 6, 2), AS_OF, None, GENERATED))),
                         encoding="utf-8")
    return {"patient": patient, "adherence": adherence}


@pytest.mark.parametrize("name", ["patient", "adherence"])
def test_the_page_renders_and_shows_the_script_patient_as_text(pages, tmp_path: Path, name):
    html = dom(tmp_path, pages[name])

    assert "</html>" in html and 'data-sortable="ready"' in html  # parsed, and our one script ran under the CSP
    assert len(re.findall(r"<script\b", html)) == 1  # no element came out of the patient's name
    assert ESCAPED in html and SCRIPT_NAME not in html
    assert re.search(r'<img id="(trend|monthly)-plot" src="data:image/png;base64,', html)


def test_the_patient_page_shows_the_bmd_trend_plot(pages, tmp_path: Path):
    image = pixels(tmp_path, pages["patient"], 4200)

    assert count(image, LUMBAR_BLUE) > 100, "the lumbar spine line of the trend plot is not on the screen"


def test_the_adherence_page_shows_the_monthly_chart(pages, tmp_path: Path):
    image = pixels(tmp_path, pages["adherence"], 2600)

    assert count(image, BAR_BLUE) > 2000, "the monthly on-time bars are not on the screen"
