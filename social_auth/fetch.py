"""The safe fetcher: the one way this package fetches a URL a visitor chose (handle discovery,
a Mastodon server, an IndieAuth site, a Bluesky PDS, an avatar).

Every rule lives here, once:

- only ``http`` and ``https`` URLs with a host name and no user name or password;
- the host is resolved once and *every* address it resolves to must be public (``is_public``):
  private, loopback, link-local (169.254.169.254 included), multicast, reserved, unspecified,
  shared (CGNAT) and unique-local addresses are refused, and so are the IPv4 addresses hidden
  in IPv4-mapped, 6to4 and NAT64 IPv6 addresses, and Teredo ones;
- the connection goes to the address that was checked (the pool is made for that address; the
  name is only sent as ``Host`` and as the TLS server name, and the certificate is checked
  against it), so a DNS answer that changes between the check and the connect (rebinding) is
  never used; no proxy is used, since a proxy would resolve the name again;
- redirects are followed by hand (GET only), each new URL checked like the first, at most
  ``max_redirects``;
- one deadline covers everything: name resolution, connects, every redirect and every body
  (the provider transport's watchdog shuts a late socket down);
- the body is read in chunks and refused past ``max_bytes``.

Any other answer (404, 500…) comes back as a ``Fetched``: callers decide what it means.
``SOCIAL_AUTH_FETCH_ALLOW_PRIVATE`` (tests only) lifts the address rule and nothing else.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from urllib3 import Timeout
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as HTTPTimeoutError

from .config import config_key
from .errors import ConfigError, FetchRefused
from .provider.transport import AnswerTooLarge, send, watched_pool

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Redirect statuses the fetcher follows (GET only).
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
#: Characters http.client would refuse in a request line, and whitespace.
_BAD_URL = re.compile(r"[\x00-\x20\x7f]")
ALLOW_PRIVATE_KEY = config_key("fetch_allow_private")


@dataclass(frozen=True)
class Fetched:
    """One answer, after any redirects: the final URL, status, headers (names lower-cased,
    repeated headers joined with ", ") and body."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` is an address on the public internet, the one rule of which addresses
    may be fetched. IPv6 addresses that carry an IPv4 address are judged by that address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.teredo is not None:
            return False
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return False
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
    )


class SafeFetcher:
    """Fetches visitor-chosen URLs under the rules above; one per app (``state.fetcher``)."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        deadline: float = 5.0,
        max_bytes: int = 1 << 20,
        max_redirects: int = 3,
        user_agent: str = "Flask-Social-Auth",
    ) -> None:
        self.allow_private = allow_private
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        # The CA bundle sites set for ``requests`` (as the provider transport reads it).
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self._tls: dict[str, Any] = {}
        if bundle:
            self._tls["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
        deadline: float | None = None,
        follow_redirects: bool = True,
    ) -> Fetched:
        """GET ``url``, following redirects (each checked again) unless ``follow_redirects``
        is off (a request carrying a token must never be replayed elsewhere)."""
        return self._fetch(
            "GET", url, None, headers or {}, max_bytes, deadline, follow=follow_redirects
        )

    def post(
        self,
        url: str,
        *,
        data: Mapping[str, str] | bytes,
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
        deadline: float | None = None,
    ) -> Fetched:
        """POST ``data`` (a form, or bytes sent as they are) to ``url``. Redirects are not
        followed (a 307 would replay the request, credentials included): they come back."""
        sent = dict(headers or {})
        if not isinstance(data, bytes):
            data = urlencode(data).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return self._fetch("POST", url, data, sent, max_bytes, deadline, follow=False)

    def allows(self, ip: IPAddress, port: int) -> bool:
        """Whether the fetcher may connect to ``ip``: a public address, or anything when
        ``allow_private`` is on (tests)."""
        return self.allow_private or is_public(ip)

    def resolve(self, host: str, port: int, seconds: float) -> list[IPAddress]:
        """Every address ``host`` resolves to, within ``seconds`` (an IP literal is itself)."""
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        found: list[Any] = []
        failure: list[BaseException] = []

        def lookup() -> None:
            try:
                found.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
            except (OSError, UnicodeError) as exc:
                failure.append(exc)

        # A thread of its own, so the deadline bounds the wait (getaddrinfo takes no timeout);
        # a lookup still running past it finishes harmlessly on its own.
        worker = threading.Thread(target=lookup, name="social-auth-resolve", daemon=True)
        worker.start()
        worker.join(seconds)
        if worker.is_alive():
            raise FetchRefused("too_slow", f"{host} could not be looked up in time.")
        if failure or not found:
            raise FetchRefused("unreachable", f"{host} could not be found.")
        addresses: list[IPAddress] = []
        for info in found:
            ip = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
            if ip not in addresses:
                addresses.append(ip)
        return addresses

    # -- one fetch ----------------------------------------------------------------------------

    def _fetch(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        max_bytes: int | None,
        deadline: float | None,
        *,
        follow: bool,
    ) -> Fetched:
        ends = time.monotonic() + (self.deadline if deadline is None else deadline)
        cap = self.max_bytes if max_bytes is None else max_bytes
        current = url
        for _hop in range(self.max_redirects + 1):
            fetched = self._once(method, current, body, headers, cap, ends)
            location = fetched.headers.get("location")
            if not follow or fetched.status not in REDIRECTS or not location:
                return fetched
            current = urljoin(current, location.strip())
        raise FetchRefused(
            "redirects", f"{_host_of(url)} redirected more than {self.max_redirects} times."
        )

    def _once(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        cap: int,
        ends: float,
    ) -> Fetched:
        scheme, host, port, target = _parse(url)
        addresses = self.resolve(host, port, _left(ends, host))
        for ip in addresses:
            if not self.allows(ip, port):
                raise FetchRefused("address", f"{host} is not a public address; not fetched.")
        ip = addresses[0]
        literal = host.strip("[]") == str(ip)
        options: dict[str, Any] = {"maxsize": 1}
        if scheme == "https":
            options.update(self._tls, cert_reqs="CERT_REQUIRED", assert_hostname=host)
            if not literal:
                options["server_hostname"] = host
        default = _DEFAULT_PORTS[scheme]
        sent = {
            "User-Agent": self.user_agent,
            **headers,
            "Host": host if port == default else f"{_bracketed(host)}:{port}",
        }
        pool = watched_pool(scheme, str(ip), port, **options)
        seconds = _left(ends, host)
        try:
            timeout = Timeout(connect=seconds, read=seconds)
            answer = send(pool, method, target, body, sent, seconds, timeout, cap)
        except AnswerTooLarge as exc:
            raise FetchRefused("too_large", f"{host} answered with more than {cap} bytes.") from exc
        except (HTTPError, OSError) as exc:
            if isinstance(exc, HTTPTimeoutError) and not isinstance(exc, NewConnectionError):
                raise FetchRefused("too_slow", f"{host} did not answer in time.") from exc
            raise FetchRefused("unreachable", f"{host} could not be reached.") from exc
        finally:
            pool.close()
        names = {name.lower(): answer.headers[name] for name in answer.headers}
        return Fetched(url, answer.status, names, answer.data)


def _parse(url: str) -> tuple[str, str, int, str]:
    """Scheme, host (lower-case, IDNA), port and request target of an http(s) URL."""
    if _BAD_URL.search(url):
        raise FetchRefused("scheme", "That address contains spaces or control characters.")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise FetchRefused("scheme", f"Only http and https addresses are fetched, not {scheme!r}.")
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii").lower()
        port = parts.port or _DEFAULT_PORTS[scheme]
    except (UnicodeError, ValueError) as exc:
        raise FetchRefused("scheme", "That address has an invalid host or port.") from exc
    if not host or parts.username is not None or parts.password is not None:
        raise FetchRefused("scheme", "That address has no host, or carries a password.")
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return scheme, host, port, target


def _left(ends: float, host: str) -> float:
    seconds = ends - time.monotonic()
    if seconds <= 0:
        raise FetchRefused("too_slow", f"{host} did not answer in time.")
    return seconds


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _host_of(url: str) -> str:
    return urlsplit(url).hostname or "The server"


def fetcher_from_config(config: Mapping[str, Any]) -> SafeFetcher:
    """The app's fetcher: ``SOCIAL_AUTH_FETCH_ALLOW_PRIVATE`` (default False) lifts the
    address rule, for tests against servers on 127.0.0.1 only, and says so in the log."""
    allow_private = config.get(ALLOW_PRIVATE_KEY, False)
    if not isinstance(allow_private, bool):
        raise ConfigError(ALLOW_PRIVATE_KEY, f"must be True or False, not {allow_private!r}")
    if allow_private:
        logging.getLogger("social_auth").warning(
            "%s is on: visitor-chosen URLs may reach private and loopback addresses. "
            "Tests only, never in production.",
            ALLOW_PRIVATE_KEY,
        )
    return SafeFetcher(allow_private=allow_private)
