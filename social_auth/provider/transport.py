"""How a provider instance talks HTTP: urllib3 connection pools (keep-alive, TLS verified),
proxies from the environment, one deadline for each whole call and a cap on each answer.

urllib3's timeouts apply to each socket operation, so a server trickling a byte a second never
trips them, however long the call lasts; ``Timeout(total=…)`` does not help either (it bounds
the connect plus *each* read). A deadline for the whole call (connect, send, status line,
headers and body) needs something that interrupts a blocking read from outside: one watchdog
thread per process keeps the deadlines of the calls in flight and, when one passes, shuts the
socket of that call's connection down. The blocked read then returns at once and the call fails
with ``DeadlinePassed``. ``HTTPResponse.shutdown()`` (urllib3 2.3+) would do for the body, but
there is no response yet while a provider trickles its status line and headers; so the watchdog
reaches the connection itself, through urllib3's extension point for it
(``HTTPConnectionPool.ConnectionCls``, and ``pool_classes_by_scheme`` for the pools a
``ProxyManager`` makes), and shuts down its ``sock`` (http.client's socket attribute, the one
urllib3 itself uses). A call costs the watchdog a heap push and three uncontended locks, about
1.5 µs. The connect needs no watchdog: it comes first and its own timeout is the whole budget
(name resolution is the system resolver's, bounded by its own timeouts).

Answers are refused as soon as they pass ``MAX_ANSWER_BYTES``: a declared Content-Length over
it before any of the body is read, other answers (chunked, read to the close, compressed) as
the chunks that pass it arrive.
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import itertools
import math
import os
import re
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies

from urllib3 import (
    BaseHTTPResponse,
    HTTPConnectionPool,
    HTTPSConnectionPool,
    ProxyManager,
    Timeout,
    make_headers,
)
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError, LocationValueError
from urllib3.exceptions import TimeoutError as HTTPTimeoutError
from urllib3.util import parse_url

#: The most a provider's answer (token response, API, discovery, keys) may hold, decoded. Real
#: ones are 1-20 KiB; anything past this is refused without reading further.
MAX_ANSWER_BYTES = 1024 * 1024
#: Connections kept open per provider host (a threaded server makes several calls at once).
POOL_SIZE = 10
#: How late past its deadline a call may be cut (the watchdog's wakes are batched by this).
_SLACK = 0.01
#: How much of an answer one read asks for.
_CHUNK = 64 * 1024
#: A Content-Length worth believing (a list of them, or a sign, is read in chunks instead).
_LENGTH = re.compile(r"[0-9]{1,12}")


class DeadlinePassed(HTTPTimeoutError):
    """The call was still unfinished at its deadline (its socket was shut down)."""


class AnswerTooLarge(HTTPError):
    """The answer was longer than ``MAX_ANSWER_BYTES``; the rest was not read."""


class Answer:
    """A provider's answer, read whole: status, headers and body."""

    __slots__ = ("data", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self.status = status
        self.headers = headers
        self.data = data


class _Call:
    """One call in flight: its deadline and the connection it is using."""

    __slots__ = ("conn", "deadline", "done", "expired")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.conn: _WatchedConnection | None = None
        self.done = False
        self.expired = False


class _Calls(threading.local):
    """The call the current thread is making, for the connection it ends up on."""

    current: _Call | None = None


_calls = _Calls()


class _Watchdog:
    """Shuts down the socket of each call that outlives its deadline.

    Calls wait in a heap by deadline; finished ones leave it when the next call starts, so
    neither starting nor finishing a call wakes the thread: it sleeps until the earliest
    deadline in the heap is ``_SLACK`` past, then deals with every call due by then. Who may
    touch a connection is decided under one lock: a connection belongs to the call that last
    sent on it (``attach``), and the watchdog only shuts it down while it still does."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._due: list[tuple[float, int, _Call]] = []
        self._order = itertools.count()  # ties: no comparing _Call objects
        self._thread: threading.Thread | None = None
        self._wakes_at = math.inf

    def arm(self, call: _Call) -> None:
        with self._lock:
            due = self._due
            while due and due[0][2].done:  # keeps the heap to about the calls in flight
                heapq.heappop(due)
            heapq.heappush(due, (call.deadline, next(self._order), call))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="social-auth-deadlines", daemon=True
                )
                self._thread.start()
            elif call.deadline + _SLACK < self._wakes_at:  # idle, or sleeping past this one
                self._wake.notify()

    def attach(self, conn: _WatchedConnection) -> None:
        """``conn`` is about to connect or send for the current thread's call."""
        call = _calls.current
        with self._lock:
            if conn.killed:  # shut down while idle in its pool: start afresh
                conn.killed = False
                conn.close()
            conn.call = call
            if call is not None:
                call.conn = conn
                if call.expired:
                    raise DeadlinePassed("the deadline passed before the request was sent")

    def disarm(self, call: _Call) -> bool:
        """The call is over; whether its deadline passed first."""
        with self._lock:
            call.done = True
            if call.conn is not None and call.conn.call is call:
                call.conn.call = None
            return call.expired

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                while self._due and self._due[0][0] <= now:
                    call = heapq.heappop(self._due)[2]
                    if not call.done:
                        self._expire(call)
                if self._due:
                    self._wakes_at = self._due[0][0] + _SLACK
                    self._wake.wait(self._wakes_at - now)
                else:
                    self._wakes_at = math.inf
                    self._wake.wait()

    def _expire(self, call: _Call) -> None:
        call.expired = True
        conn = call.conn
        if conn is None or conn.call is not call:
            return  # still connecting (bounded by the connect timeout), or already let go
        conn.killed = True
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # closed meanwhile: nothing left to interrupt
                sock.shutdown(socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()
# A worker forked after a call (gunicorn --preload) has no watchdog thread and no calls.
os.register_at_fork(after_in_child=_WATCHDOG._reset)


class _WatchedConnection(HTTPConnection):
    """A connection that tells the watchdog which call it serves before it connects or sends."""

    #: The call this connection serves; set and read under the watchdog's lock.
    call: _Call | None = None
    #: The watchdog shut its socket down; the next request reconnects.
    killed = False

    def connect(self) -> None:
        _WATCHDOG.attach(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _WATCHDOG.attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _Pool, "https": _TLSPool}
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Transport:
    """One provider instance's HTTP: a urllib3 connection pool per host (keep-alive, TLS
    verified), reached directly or through the proxy the environment names for that host.

    The environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, and the CA
    bundle sites set for ``requests`` in ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``) is read
    once and the route to each host chosen once, so a call does no environment lookups (most of
    what ``requests`` costs per call). There is no cookie jar: nothing one visitor's sign-in
    receives is ever sent on another's. Calls are never retried (a retry could spend an
    authorization code twice) and redirects are never followed (a 307 would replay a token
    request, client credentials included, to wherever it points).
    """

    def __init__(self, timeout: float) -> None:
        #: Seconds the whole call may take; each socket operation is bounded by it too, so a
        #: connect (before there is a socket to shut down) never outlasts it.
        self.deadline = timeout
        self.timeout = Timeout(connect=timeout, read=timeout)
        self._proxies = getproxies()
        self._tls: dict[str, Any] = {}
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self._tls["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
        self._routes: dict[tuple[str, str], HTTPConnectionPool | ProxyManager] = {}
        self._proxy_managers: dict[str, ProxyManager] = {}
        self._lock = threading.Lock()

    def request(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        """One call, its answer read whole, all within the deadline; urllib3's ``HTTPError``
        when the network fails (``DeadlinePassed``, ``AnswerTooLarge`` among them)."""
        scheme, netloc, path, query, _ = urlsplit(url)
        route = self._routes.get((scheme, netloc)) or self._route(url)
        if isinstance(route, ProxyManager):
            target = url  # the manager tunnels (https) or forwards the absolute URL (http)
        else:
            target = f"{path or '/'}?{query}" if query else path or "/"
        return send(route, method, target, body, headers, self.deadline, self.timeout)

    def _route(self, url: str) -> HTTPConnectionPool | ProxyManager:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LocationValueError(f"not an http(s) URL: {url!r}")
        with self._lock:
            route = self._routes.get((parts.scheme, parts.netloc))
            if route is None:
                proxy = self._proxies.get(parts.scheme) or self._proxies.get("all")
                no_proxy = self._proxies.get("no", "")
                if proxy and not _bypasses_proxy(parts.netloc, parts.hostname, no_proxy):
                    route = self._proxy_manager(proxy)
                else:
                    tls = self._tls if parts.scheme == "https" else {}
                    port = parts.port or _DEFAULT_PORTS[parts.scheme]
                    pool = _POOLS[parts.scheme]
                    route = pool(parts.hostname, port=port, maxsize=POOL_SIZE, **tls)
                self._routes[(parts.scheme, parts.netloc)] = route
            return route

    def _proxy_manager(self, proxy: str) -> ProxyManager:
        manager = self._proxy_managers.get(proxy)
        if manager is None:
            url = proxy if "://" in proxy else f"http://{proxy}"  # as requests reads "host:port"
            auth = parse_url(url).auth
            headers = make_headers(proxy_basic_auth=unquote(auth)) if auth else None
            manager = ProxyManager(url, proxy_headers=headers, maxsize=POOL_SIZE, **self._tls)
            # urllib3's hook for the pool classes a manager makes: ours watch the deadline.
            manager.pool_classes_by_scheme = _POOLS
            self._proxy_managers[proxy] = manager
        return manager


def watched_pool(scheme: str, host: str, port: int, **options: Any) -> HTTPConnectionPool:
    """A pool whose calls ``send`` can hold to a deadline, for callers that choose the address
    themselves (the safe fetcher connects to the address it checked, not to a name)."""
    return _POOLS[scheme](host, port=port, **options)


def send(
    route: HTTPConnectionPool | ProxyManager,
    method: str,
    target: str,
    body: bytes | None,
    headers: Mapping[str, str],
    seconds: float,
    timeout: Timeout,
    max_bytes: int | None = None,
) -> Answer:
    """One call on ``route``, its answer read whole (at most ``max_bytes``, default
    ``MAX_ANSWER_BYTES``), all within ``seconds``; urllib3's ``HTTPError`` when the network
    fails (``DeadlinePassed``, ``AnswerTooLarge`` among them)."""
    call = _Call(time.monotonic() + seconds)
    _WATCHDOG.arm(call)
    _calls.current = call
    response: BaseHTTPResponse | None = None
    data: bytes | None = None
    try:
        response = route.urlopen(
            method,
            target,
            body=body,
            headers=headers,
            timeout=timeout,
            retries=False,
            redirect=False,
            preload_content=False,
        )
        data = _read(response, MAX_ANSWER_BYTES if max_bytes is None else max_bytes)
    except (HTTPError, OSError) as exc:
        if _WATCHDOG.disarm(call):
            raise DeadlinePassed("the deadline passed") from exc
        raise
    finally:
        _calls.current = None
        expired = _WATCHDOG.disarm(call)
        if response is not None:
            if expired or data is None:
                response.close()  # half-read or shut down: never back into the pool
            response.release_conn()
    if expired:  # a shut-down socket can look like the end of a body
        raise DeadlinePassed("the deadline passed")
    return Answer(response.status, response.headers, data)


def _read(response: BaseHTTPResponse, cap: int) -> bytes:
    headers = response.headers
    declared = headers.get("Content-Length", "")
    # ``in``, not ``get``: a header dict's ``get`` of a missing name raises and catches.
    if _LENGTH.fullmatch(declared) and "Content-Encoding" not in headers:
        # The usual answer: its length known and nothing to decompress. One read takes
        # exactly that many bytes (as ``preload_content`` does); a chunk loop costs more.
        if int(declared) > cap:
            raise AnswerTooLarge(f"a Content-Length over {cap} bytes")
        return response.read()
    # Chunked, read to the close, or compressed (``read(amt)`` decompresses no further
    # than asked): in chunks, stopping as soon as the cap is passed.
    chunks = []
    size = 0
    while chunk := response.read(_CHUNK):
        size += len(chunk)
        if size > cap:
            raise AnswerTooLarge(f"more than {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _bypasses_proxy(netloc: str, host: str, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` names the host, read as ``requests`` and curl read it: ``*``, names
    matching themselves and their subdomains (a leading dot is optional), ``host:port``, and
    IP networks in CIDR notation."""
    netloc, host = netloc.rpartition("@")[2].lower(), host.lower()
    for entry in no_proxy.lower().split(","):
        name = entry.strip().lstrip(".")
        if name == "*":
            return True
        if "/" in name:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
        elif name and any(n == name or n.endswith(f".{name}") for n in (host, netloc)):
            return True
    return False
