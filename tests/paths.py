"""Where the tests' data lives, whatever folder a test module sits in."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures" / "fhir"
GOLDEN = TESTS / "golden"
VIGNETTES = TESTS / "vignettes"
