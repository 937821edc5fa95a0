"""Helpers shared by the test directories: tiny datasets, bundles, servers and their fixtures.

Import them as ``tests.helpers.<module>`` (pytest puts the checkout on ``sys.path``: ``pythonpath``
in pyproject.toml); the fixtures in ``tests.helpers.fixtures`` are registered for the whole suite by
``pytest_plugins`` in tests/conftest.py.
"""
