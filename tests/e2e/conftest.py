"""Fixtures of the end-to-end suite: the session's real Kafka and PostgreSQL (`stack_env`, the
integration suite's fixture), on which each journey starts its own services.

A journey deletes and recreates the `tmis.*` topics (see province.py), so it refuses a stack
given by TMIS_KAFKA_BOOTSTRAP / TMIS_DATABASE_URL: that is someone's own `tmis up`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest_stack import StackEnv, stack_env

__all__ = ["e2e_stack", "stack_env"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: a journey through the real services (slow)")


@pytest.fixture(scope="session")
def e2e_stack(stack_env: StackEnv) -> Iterator[StackEnv]:
    if stack_env.source == "env":
        pytest.skip("the e2e journeys recreate Kafka's tmis.* topics: not on a stack named by "
                    "TMIS_KAFKA_BOOTSTRAP (unset it to let the tests start their own)")
    yield stack_env
