from tests.sync.fixtures import *  # noqa: F403 (the fixtures)
