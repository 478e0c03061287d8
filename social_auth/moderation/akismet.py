"""Akismet's REST API (akismet.com/developers): ``comment-check``, ``submit-spam``,
``submit-ham`` and ``verify-key``, each a form POST answered by one word.

The calls go through the providers' HTTP transport (``provider.transport``: urllib3 pools,
proxies from the environment, one deadline for the whole call enforced by a watchdog, a cap on
the answer), not through the PyPI ``akismet`` client: that one builds its URLs from a module
constant (so ``SOCIAL_AUTH_AKISMET_URL`` could only be honoured by patching a private name) and
runs on httpx, whose timeouts bound each socket read rather than the whole call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as HTTPTimeoutError

from ..errors import AkismetUnavailable
from ..provider.transport import Answer as HttpAnswer
from ..provider.transport import Transport
from .types import Answer

API_VERSION = "1.1"
USER_AGENT = "Flask-Social-Auth/0.1 | Akismet/1.1"
#: What ``submit-spam`` and ``submit-ham`` answer when they took the report.
THANKS = "Thanks for making the web a better place."


@dataclass(frozen=True)
class Check:
    """One ``comment-check``: the answer and, when unavailable, why (for the admin page)."""

    answer: Answer
    #: ``invalid_key``, ``timeout``, ``http_503``, ``malformed``, ``unreachable``; or None.
    error: str | None = None
    #: Akismet's ``X-akismet-debug-help`` header, when it sent one.
    debug_help: str | None = None


class AkismetClient:
    """The API for one key and one site, over a transport whose deadline is ``timeout``."""

    def __init__(self, key: str, url: str, *, timeout: float) -> None:
        self.key = key
        self.url = url.rstrip("/")
        self.transport = Transport(timeout)

    def comment_check(self, fields: Mapping[str, str]) -> Check:
        """``true`` is spam (with ``X-akismet-pro-tip: discard``, blatant spam), ``false`` ham;
        anything else, or no answer in time, is ``Answer.UNAVAILABLE`` and never raises."""
        try:
            answer = self._post("comment-check", fields)
        except AkismetUnavailable as exc:
            return Check(Answer.UNAVAILABLE, exc.reason)
        body = answer.data.strip()
        if body == b"true":
            tip = answer.headers.get("X-akismet-pro-tip", "")
            return Check(Answer.DISCARD if tip.strip() == "discard" else Answer.SPAM)
        if body == b"false":
            return Check(Answer.HAM)
        help_text = answer.headers.get("X-akismet-debug-help")
        return Check(Answer.UNAVAILABLE, _word(body), help_text)

    def submit_spam(self, fields: Mapping[str, str]) -> None:
        """Report a comment Akismet missed; ``AkismetUnavailable`` if it was not taken."""
        self._submit("submit-spam", fields)

    def submit_ham(self, fields: Mapping[str, str]) -> None:
        """Report a comment Akismet wrongly called spam."""
        self._submit("submit-ham", fields)

    def verify_key(self, blog: str) -> bool:
        """Whether the key is valid for ``blog``; ``AkismetUnavailable`` when unanswered."""
        answer = self._post("verify-key", {"blog": blog})
        body = answer.data.strip()
        if body in (b"valid", b"invalid"):
            return body == b"valid"
        raise AkismetUnavailable("malformed", f"Akismet answered {body[:80]!r} to verify-key")

    def _submit(self, endpoint: str, fields: Mapping[str, str]) -> None:
        answer = self._post(endpoint, fields)
        body = answer.data.decode("utf-8", "replace").strip()
        if body != THANKS:
            problem = f"Akismet did not take the report: {body[:80]!r}"
            raise AkismetUnavailable(_word(answer.data), problem)

    def _post(self, endpoint: str, fields: Mapping[str, str]) -> HttpAnswer:
        body = urlencode({"api_key": self.key, **fields}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": USER_AGENT,
        }
        url = f"{self.url}/{API_VERSION}/{endpoint}"
        try:
            answer = self.transport.request("POST", url, body, headers)
        except NewConnectionError as exc:  # refused (urllib3 files it under timeouts too)
            raise AkismetUnavailable("unreachable", f"Akismet could not be reached: {exc}") from exc
        except HTTPTimeoutError as exc:  # the deadline, or one socket read, ran out
            raise AkismetUnavailable("timeout", "Akismet did not answer in time") from exc
        except (HTTPError, OSError) as exc:
            raise AkismetUnavailable("unreachable", f"Akismet could not be reached: {exc}") from exc
        if answer.status != 200:
            raise AkismetUnavailable(f"http_{answer.status}", f"Akismet answered {answer.status}")
        return answer


def _word(body: bytes) -> str:
    """``invalid`` (a bad key) as itself; any other unexpected answer is ``malformed``."""
    return "invalid_key" if body.strip() == b"invalid" else "malformed"
