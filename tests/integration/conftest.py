"""Fixtures of the integration suite.

``stack_env`` is imported rather than listed in ``pytest_plugins``: pytest refuses
``pytest_plugins`` in a conftest below the rootdir when the run starts at ``tests/``.
"""

from tests.integration.conftest_stack import stack_env

__all__ = ["stack_env"]
