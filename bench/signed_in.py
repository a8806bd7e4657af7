"""The signed-in reading view in-process (issue 14, item 3): django's test Client through the
whole middleware stack, the in-process cache (LocMem), SQLite, the sample volume. Per round,
`BENCH_N` requests (300) of d142 each as an anonymous reader (the cached page), a signed-in
reader with no role and an editor, interleaved; prints the median per request of each round,
the medians' median, each ÷ anonymous, and the queries of one signed-in page.

    .venv/bin/python -m pytest bench/signed_in.py -q -s

Run it in two checkouts one after the other for a before and after (noisy: a shared machine
moves the figures by tens of percent; compare the ratios).
"""

import os
import statistics
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

# The test suite's fixtures: the sample edition, its people, a fresh cache per run.
from tests.conftest import (  # noqa: E402, F401
    _export_storage, _fast_password_hashing, _fresh_cache, _media_storage, people,
    sample_edition,
)

pytestmark = pytest.mark.django_db
PAGE = "/frus1958-60v18/d142/"
N = int(os.environ.get("BENCH_N", "300"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def median_us(client) -> float:
    times = []
    for _ in range(N):
        start = time.perf_counter()
        response = client.get(PAGE)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    return statistics.median(times) * 1e6


@pytest.fixture
def plain_rendering(monkeypatch):
    """Templates rendered as in production: the test environment wraps every render to record
    its context for the test client (a copy of each context), which would overcharge the
    pages rendered from templates."""
    from django.template import Template
    from django.test.utils import _TestState

    monkeypatch.setattr(Template, "_render", _TestState.saved_data.template_render)


def test_signed_in_reading_view(sample_edition, people, plain_rendering):  # noqa: F811
    clients = {"anonymous": Client(), "reader": Client(), "editor": Client()}
    clients["reader"].force_login(people.stranger)
    clients["editor"].force_login(people.editor)
    for client in clients.values():  # the caches filled
        client.get(PAGE)
        client.get(PAGE)
    rounds = {name: [] for name in clients}
    for _ in range(ROUNDS):
        for name, client in clients.items():
            rounds[name].append(median_us(client))
    anonymous = statistics.median(rounds["anonymous"])
    print()
    for name, values in rounds.items():
        median = statistics.median(values)
        print(f"{name:9} {median:7.0f} µs (rounds {', '.join(f'{v:.0f}' for v in values)})"
              f"  ÷ anonymous {anonymous / median:.3f}")
    for name in ("reader", "editor"):
        with CaptureQueriesContext(connection) as queries:
            clients[name].get(PAGE)
        print(f"{name}: {len(queries)} queries")
