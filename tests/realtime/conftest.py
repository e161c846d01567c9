import pytest

from shop.seed import DEMO_ADMIN, DEMO_SHOPPER
from tests.live import LiveServer, Shopper, prepare_database


@pytest.fixture
def live(tmp_path):
    """A real eventlet server on a free port with its own seeded SQLite file."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    prepare_database(url)
    server = LiveServer(url, tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def admin_http(live):
    return Shopper(live.url).login(DEMO_ADMIN[0], DEMO_ADMIN[2])


@pytest.fixture
def shopper_http(live):
    return Shopper(live.url).login(DEMO_SHOPPER[0], DEMO_SHOPPER[2])
