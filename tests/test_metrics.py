"""/metrics: Prometheus text for the people running the shop, nobody else."""

import pytest


def test_metrics_from_this_machine(client):
    client.get("/healthz")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    for name in (
        "shop_request_seconds_bucket",
        "shop_pushes_total",
        "shop_sockets_connected",
        "shop_sync_calls_total",
    ):
        assert name in text, name
    assert 'endpoint="main.healthz"' in text


def test_metrics_are_not_public(client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 404


@pytest.mark.app_config(METRICS_TOKEN="scrape-me")
def test_with_a_token_only_its_bearer_reads_them(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
