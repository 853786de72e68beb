"""Shared fixtures: the packaged policy and small builders for facts."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from monitor.core.policy import Policy
from monitor.settings import default_policy

# "ci" (the default): the same examples on every run and machine, and no time limits, so a loaded
# machine (pytest -n on 2 cores) cannot fail a property test for being slow. HYPOTHESIS_PROFILE=dev
# searches afresh each run and remembers failures in .hypothesis/.
settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def policy() -> Policy:
    return default_policy()
