"""The machinery every emulator shares: a real HTTP server on 127.0.0.1, routing, a request log,
and switches for latency, a rate limit, injected 5xx answers and dropped connections.

An emulator subclasses :class:`Emulator` and marks handler methods with :func:`route`::

    class Shop(Emulator):
        @route("GET", r"/products/(?P<pid>\\d+)")
        def product(self, request, pid):
            return Response.json({"id": pid})

    with Shop().start() as shop:          # a free port on 127.0.0.1, served by a thread
        requests.get(shop.url + "/products/1")
        shop.requests                     # every request it received

Control routes under ``/_emulator/`` (state dump, request log, switches) are never throttled,
faulted or logged, so that tests and scripts can inspect an emulator run in another process.
"""

from __future__ import annotations

import contextlib
import math
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from commerce_schema import jsonio

MAX_BODY_BYTES = 64 * 1024 * 1024
CONTROL_PREFIX = "/_emulator/"


@dataclass
class Request:
    """One request as the emulator received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body parsed as JSON, numbers as Decimal."""
        return jsonio.loads(self.body or b"null")

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header, case-insensitively."""
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    """What a handler returns; ``body`` may be bytes, text, or anything JSON-able."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None
             ) -> Response:
        """A JSON answer (Decimals as exact numbers, Polish text unescaped)."""
        return cls(status, jsonio.dumps(data).encode(), dict(headers or {}))

    def encoded(self) -> bytes:
        """The body as bytes."""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return jsonio.dumps(self.body).encode()


class RateLimit:
    """A leaky bucket: each request pours one unit in; ``leak_per_second`` drain out.

    A request that would overflow ``capacity`` is refused with the seconds to wait, which the
    server turns into ``429`` with ``Retry-After``. This is Shoper's documented model; a fixed
    window (N requests per second) is the same bucket with ``capacity == leak_per_second``.
    """

    def __init__(self, capacity: float, leak_per_second: float) -> None:
        self.capacity = capacity
        self.leak_per_second = leak_per_second
        self._level = 0.0
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self.refused = 0

    def _drain(self, now: float) -> None:
        self._level = max(0.0, self._level - (now - self._last) * self.leak_per_second)
        self._last = now

    def acquire(self) -> tuple[bool, float, float]:
        """Take one unit: (allowed, level after, seconds to wait when refused)."""
        with self._lock:
            self._drain(time.monotonic())
            if self._level + 1 > self.capacity:
                self.refused += 1
                wait = (self._level + 1 - self.capacity) / self.leak_per_second
                return False, self._level, wait
            self._level += 1
            return True, self._level, 0.0

    @property
    def level(self) -> float:
        """Current fill of the bucket."""
        with self._lock:
            self._drain(time.monotonic())
            return self._level


@dataclass
class Switches:
    """Knobs that make an emulator behave like a bad day on the real platform.

    Fault decisions depend only on ``seed`` and the request's sequence number, so a run with
    the same seed and the same request order sees the same faults.
    """

    latency: float = 0.0
    rate_limit: RateLimit | None = None
    error_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0
    down: bool = False
    fault_paths: str | None = None  # a regex; faults only hit matching paths when set

    def fault_for(self, sequence: int, path: str) -> str | None:
        """'error', 'drop' or None for the request with this sequence number."""
        if self.down:
            return "error"
        if not (self.error_rate or self.drop_rate):
            return None
        if self.fault_paths and not re.search(self.fault_paths, path):
            return None
        roll = random.Random(f"{self.seed}:{sequence}").random()
        if roll < self.error_rate:
            return "error"
        if roll < self.error_rate + self.drop_rate:
            return "drop"
        return None


Handler = Callable[..., Response]


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Mark an emulator method as the handler of ``method`` on paths matching ``pattern``.

    The pattern must match the whole path; named groups become keyword arguments.
    """

    def mark(func: Handler) -> Handler:
        routes = [*getattr(func, "_routes", []), (method.upper(), re.compile(pattern))]
        setattr(func, "_routes", routes)  # noqa: B010 (an attribute mypy cannot know)
        return func

    return mark


class Emulator:
    """Base of every platform emulator: routes, request log, switches, start/stop.

    Subclasses add ``@route`` handlers, may override :meth:`before_request` (auth, custom
    throttling headers), :meth:`decorate` (headers on every answer) and :meth:`state`.
    """

    name = "emulator"

    def __init__(self, *, switches: Switches | None = None, record_bodies: bool = True) -> None:
        self.switches = switches or Switches()
        self.record_bodies = record_bodies
        self.requests: list[Request] = []
        self._log_lock = threading.Lock()
        self._sequence = 0
        self._routes = [
            (method, regex, getattr(self, attr))
            for attr in dir(type(self))
            for method, regex in getattr(getattr(type(self), attr), "_routes", [])
        ]
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, port: int = 0) -> Emulator:
        """Serve on 127.0.0.1 (a free port when ``port`` is 0) from a background thread."""
        self._server = _Server(("127.0.0.1", port), _make_handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=f"{self.name}-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self, port: int = 0) -> None:
        """Serve in the foreground (the ``python -m sandbox.<platform>`` mode)."""
        self._server = _Server(("127.0.0.1", port), _make_handler(self))
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def wait(self) -> None:
        """Block until the background server stops (the command line's foreground mode)."""
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> Emulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._server is not None, "emulator not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234``."""
        return f"http://127.0.0.1:{self.port}"

    # -- request log ------------------------------------------------------------------------
    def requests_to(self, method: str | None = None, pattern: str | None = None) -> list[Request]:
        """Logged requests, filtered by method and a regex searched in the path."""
        with self._log_lock:
            logged = list(self.requests)
        return [r for r in logged
                if (method is None or r.method == method.upper())
                and (pattern is None or re.search(pattern, r.path))]

    def clear_requests(self) -> None:
        """Forget the request log (state stays)."""
        with self._log_lock:
            self.requests.clear()

    # -- hooks for subclasses ---------------------------------------------------------------
    def before_request(self, request: Request) -> Response | None:
        """Return a Response to answer without routing (e.g. 401); None to go on."""
        return None

    def decorate(self, request: Request, response: Response) -> None:
        """Add headers every answer carries (e.g. rate-limit headers)."""

    def rate_limited(self, request: Request, retry_after: float) -> Response:
        """The 429 answer; platforms word it differently."""
        return Response.json({"error": "too_many_requests"}, 429,
                             {"Retry-After": str(max(1, math.ceil(retry_after)))})

    def server_error(self, request: Request) -> Response:
        """The answer of an injected fault."""
        return Response.json({"error": "server_error", "error_description": "injected fault"},
                             503)

    def state(self) -> Any:
        """What the emulated system holds now, as JSON (for tests and humans)."""
        return {}

    def control(self, request: Request, action: str) -> Response:
        """``/_emulator/state``, ``/_emulator/requests``, ``/_emulator/switches``."""
        if action == "state":
            return Response.json(self.state())
        if action == "requests":
            logged = self.requests_to()
            counts: dict[str, int] = {}
            for r in logged:
                key = f"{r.method} {r.path}"
                counts[key] = counts.get(key, 0) + 1
            limit = self.switches.rate_limit
            return Response.json({"total": len(logged), "by_route": counts,
                                  "rate_limited": limit.refused if limit else 0})
        if action == "clear" and request.method == "POST":
            self.clear_requests()
            return Response.json({"ok": True})
        if action == "switches" and request.method == "POST":
            self.apply_switches(request.json() or {})
            return Response.json({"ok": True})
        return Response.json({"error": f"unknown control {action}"}, 404)

    def apply_switches(self, values: dict[str, Any]) -> None:
        """Change switches at run time (also reachable over HTTP for other processes)."""
        sw = self.switches
        for name in ("latency", "error_rate", "drop_rate", "seed", "down", "fault_paths"):
            if name in values:
                setattr(sw, name, values[name])
        if "rate_limit" in values:
            spec = values["rate_limit"]
            sw.rate_limit = RateLimit(float(spec[0]), float(spec[1])) if spec else None

    # -- dispatch ---------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response | None:
        """Answer one request; None means: drop the connection."""
        if request.path.startswith(CONTROL_PREFIX):
            return self.control(request, request.path[len(CONTROL_PREFIX):].strip("/"))
        with self._log_lock:
            self._sequence += 1
            sequence = self._sequence
            if self.record_bodies:
                self.requests.append(request)
            else:
                self.requests.append(Request(request.method, request.path, request.query,
                                             request.headers, b"", request.at))
        sw = self.switches
        if sw.latency:
            time.sleep(sw.latency)
        fault = sw.fault_for(sequence, request.path)
        if fault == "drop":
            return None
        response: Response | None
        if fault == "error":
            response = self.server_error(request)
        else:
            response = self.before_request(request)
            if response is None and sw.rate_limit is not None:
                allowed, _level, wait = sw.rate_limit.acquire()
                if not allowed:
                    response = self.rate_limited(request, wait)
            if response is None:
                response = self._route(request)
        self.decorate(request, response)
        return response

    def _route(self, request: Request) -> Response:
        allowed_methods = set()
        for method, regex, handler in self._routes:
            match = regex.fullmatch(request.path)
            if match:
                if method == request.method:
                    return handler(request, **match.groupdict())
                allowed_methods.add(method)
        if allowed_methods:
            return Response.json({"error": "method_not_allowed"}, 405,
                                 {"Allow": ", ".join(sorted(allowed_methods))})
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        """No route matched."""
        return Response.json({"error": "not_found", "path": request.path}, 404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def _make_handler(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"sandbox-{emulator.name}"
        # headers and body leave in two writes; with Nagle on, keep-alive clients wait for a
        # delayed ACK (~40 ms) on every request
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request log is the emulator's record."""

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response = emulator.dispatch(request)
            except Exception as exc:  # an emulator bug must show, not hang the client
                response = Response.json({"error": "emulator_bug", "detail": repr(exc)}, 500)
            if response is None:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            payload = response.encoded() if self.command != "HEAD" else b""
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.encoded())))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle  # noqa: N815

    return _Handler

