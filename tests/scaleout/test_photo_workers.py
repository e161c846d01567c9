"""Photos with several workers: every worker serves every photo (one folder they
all see), and nginx serves that folder itself, with the upload route's own limit."""

import io
import os
import re

import pytest
import requests
from PIL import Image

from shop.seed import DEMO_ADMIN
from testing.data import insert_product
from testing.images import photo
from testing.shopper import admin_on

pytestmark = pytest.mark.scaleout
IMMUTABLE = "public, max-age=31536000, immutable"


def photo_urls(page: str) -> list[str]:
    return sorted(set(re.findall(r"(/media/[0-9a-f]{32}-\d+\.(?:webp|jpg))", page)))


def test_a_photo_uploaded_through_one_worker_is_served_by_the_other(two_workers, seeded_database):
    a, b = two_workers
    product_id = insert_product(seeded_database)
    image = photo("JPEG", (800, 600), colour=(20, 120, 200))

    uploaded = admin_on(a.url).upload_photos(product_id, ("through-a.jpg", image), alt="Seen from B")

    assert uploaded.status_code == 302
    page = requests.get(f"{b.url}/products/{product_id}", timeout=10).text
    urls = photo_urls(page)
    assert len(urls) == 6 and 'alt="Seen from B"' in page  # 320, 640, 800 wide; WebP and JPEG
    for url in urls:
        from_b, from_a = requests.get(b.url + url, timeout=10), requests.get(a.url + url, timeout=10)
        assert from_b.status_code == 200 and from_b.content == from_a.content
        assert from_b.headers["Cache-Control"] == IMMUTABLE
        assert from_b.headers["X-Content-Type-Options"] == "nosniff"


def noise_jpeg(megabytes: float) -> bytes:
    """A real JPEG of about ``megabytes``: noise hardly compresses."""
    side = int((megabytes * 1024 * 1024 / 1.6) ** 0.5)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "JPEG", quality=100)
    return out.getvalue()


def test_nginx_takes_a_large_upload_on_the_upload_route_only_and_serves_the_photos(site, seeded_database):
    """deploy/nginx.conf in front of run-workers.sh, as production runs them (tests/scaleout/conftest.py)."""
    nginx, _ = site
    product_id = insert_product(seeded_database)
    admin = nginx.shopper(DEMO_ADMIN[0], DEMO_ADMIN[2])
    big = noise_jpeg(4)
    assert 3 * 1024 * 1024 < len(big) < 10 * 1024 * 1024

    uploaded = admin.upload_photos(product_id, ("big.jpg", big))
    elsewhere = admin.http.post(nginx.url + "/cart/add/1", files={"photos": ("big.jpg", big)}, timeout=30)

    assert uploaded.status_code == 302, uploaded.text[:300]
    assert elsewhere.status_code == 413  # nginx's own limit, before any worker reads it
    urls = photo_urls(admin.get(f"/products/{product_id}").text)
    assert urls
    for url in urls:
        served = requests.get(nginx.url + url, verify=str(nginx.certificate), timeout=10)
        assert served.status_code == 200 and served.headers["Content-Type"] in ("image/webp", "image/jpeg")
        assert served.headers["Cache-Control"] == IMMUTABLE
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" not in served.headers  # nginx's, not a worker's
    missing = requests.get(
        nginx.url + "/media/../deploy/nginx.conf", verify=str(nginx.certificate), timeout=10
    )
    assert missing.status_code in (400, 404)
    assert (
        requests.get(nginx.url + "/media/x.svg", verify=str(nginx.certificate), timeout=10).status_code == 404
    )
