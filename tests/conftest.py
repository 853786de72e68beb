"""Shared fixtures: the packaged policy and small builders for facts."""

from __future__ import annotations

import pytest

from monitor.core.policy import Policy
from monitor.settings import default_policy


@pytest.fixture(scope="session")
def policy() -> Policy:
    return default_policy()
