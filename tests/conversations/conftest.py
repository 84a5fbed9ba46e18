"""The conversation tests on the database use the ingest tests' number (an active Evolution number)."""

from tests.db.test_ingest import number  # noqa: F401 - a fixture, registered by being imported here
