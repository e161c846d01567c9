"""Reading /metrics the way Prometheus does: a value by metric name and labels."""

import requests
from prometheus_client.parser import text_string_to_metric_families


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, keyed by (name, sorted label pairs)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict, name: str, unseen: float | None = None, **labels: str) -> float:
    """One sample's value; ``unseen`` for a labelled counter never incremented (a KeyError
    when that is None)."""
    key = (name, tuple(sorted(labels.items())))
    return samples[key] if unseen is None else samples.get(key, unseen)


def scrape(base_url: str) -> dict:
    """A live server's /metrics (from this machine, which METRICS_ALLOW admits by default)."""
    response = requests.get(base_url + "/metrics", timeout=10)
    response.raise_for_status()
    return parse_metrics(response.text)
