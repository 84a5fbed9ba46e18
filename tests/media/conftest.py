from tests.media.fixtures import s3_server, storage  # noqa: F401 - fixtures for this directory
