import pytest

from bot.flowfiles import load_flows
from tests.support.harness import DIALOGS


@pytest.fixture(scope="session")
def flows():
    """The shipped dialogs/ flows, loaded and validated once."""
    return load_flows(DIALOGS)
