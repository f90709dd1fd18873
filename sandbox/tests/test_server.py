"""The emulator machinery over real sockets: routing, request log, rate limit, faults."""

import time

import pytest
import requests
from sandbox.server import Emulator, RateLimit, Response, Switches, route


class Echo(Emulator):
    name = "echo"

    @route("GET", r"/items/(?P<item_id>\d+)")
    def item(self, request, item_id):
        return Response.json({"id": item_id, "q": request.arg("q")})

    @route("POST", r"/items")
    def create(self, request):
        return Response.json({"got": request.json()}, 201)


@pytest.fixture
def echo():
    with Echo() as emulator:
        yield emulator


def test_serves_on_a_free_local_port_and_logs_requests(echo):
    assert echo.url.startswith("http://127.0.0.1:")
    assert echo.port > 0
    answer = requests.get(f"{echo.url}/items/7?q=żółw", timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"id": "7", "q": "żółw"}
    posted = requests.post(f"{echo.url}/items", json={"price": 1.5}, timeout=5)
    assert posted.status_code == 201
    logged = echo.requests_to()
    assert [(r.method, r.path) for r in logged] == [("GET", "/items/7"), ("POST", "/items")]
    assert logged[1].json() == {"price": 1.5}


def test_two_emulators_get_two_ports():
    with Echo() as one, Echo() as two:
        assert one.port != two.port


def test_unknown_route_and_wrong_method(echo):
    assert requests.get(f"{echo.url}/nope", timeout=5).status_code == 404
    assert requests.delete(f"{echo.url}/items/1", timeout=5).status_code == 405


def test_stop_frees_the_port():
    emulator = Echo().start()
    url = emulator.url
    emulator.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/items/1", timeout=2)


def test_rate_limit_answers_429_with_retry_after():
    switches = Switches(rate_limit=RateLimit(capacity=3, leak_per_second=1))
    with Echo(switches=switches) as echo:
        codes = [requests.get(f"{echo.url}/items/1", timeout=5) for _ in range(5)]
    assert [c.status_code for c in codes] == [200, 200, 200, 429, 429]
    assert int(codes[3].headers["Retry-After"]) >= 1
    assert switches.rate_limit.refused == 2


def test_rate_limit_leaks():
    bucket = RateLimit(capacity=1, leak_per_second=20)
    assert bucket.acquire()[0]
    assert not bucket.acquire()[0]
    time.sleep(0.1)
    assert bucket.acquire()[0]


def test_latency_is_added():
    with Echo(switches=Switches(latency=0.2)) as echo:
        started = time.monotonic()
        requests.get(f"{echo.url}/items/1", timeout=5)
        assert time.monotonic() - started >= 0.2


def _outcomes(seed):
    outcomes = []
    with Echo(switches=Switches(error_rate=0.2, drop_rate=0.1, seed=seed)) as echo:
        for _ in range(40):
            try:
                outcomes.append(requests.get(f"{echo.url}/items/1", timeout=5).status_code)
            except requests.ConnectionError:
                outcomes.append("dropped")
    return outcomes


def test_faults_are_reproducible_for_a_seed():
    first = _outcomes(seed=7)
    assert first == _outcomes(seed=7)
    assert first != _outcomes(seed=8)
    assert 503 in first
    assert "dropped" in first
    assert 200 in first


def test_control_routes_are_not_faulted_nor_logged():
    with Echo(switches=Switches(down=True)) as echo:
        assert requests.get(f"{echo.url}/items/1", timeout=5).status_code == 503
        summary = requests.get(f"{echo.url}/_emulator/requests", timeout=5).json()
        assert summary["total"] == 1
        requests.post(f"{echo.url}/_emulator/switches", json={"down": False}, timeout=5)
        assert requests.get(f"{echo.url}/items/1", timeout=5).status_code == 200
