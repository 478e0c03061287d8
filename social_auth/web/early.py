"""``AskEarly``, with Redis only: the commenter's revocation check sent as a request arrives."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..revocation import CommenterCache
from .cookies import SESSION_COOKIE
from .signing import known_session

#: Where ``AskEarly`` leaves (commenter id, ticket) of the GET it sent for this request.
ENVIRON_ASKED = "social_auth.asked"


class AskEarly:
    """WSGI middleware, with Redis only: sends the commenter's generation ``GET`` the moment a
    request arrives, so its round trip overlaps Flask's own request setup (context, URL
    matching, the host's session) instead of stalling the page when ``current_commenter`` is
    first used. Resolving the commenter (``web.commenter``) still decides everything: the early
    answer is only used for the commenter its cookie names, and only within the request that
    asked (``revocation``).

    It asks only on paths whose pages looked at the commenter before (so routes that never do,
    like static files or a JSON API, cost Redis nothing) and only for cookie values this worker
    verified before (a hint: the cookie is parsed properly, and checked, on resolving).
    """

    #: Paths remembered; past that the worker starts afresh.
    MAX_PATHS = 4096

    def __init__(self, wsgi_app: Any, app: Flask, cache: CommenterCache) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self.cache = cache
        self.paths: dict[str, bool] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        cookie = environ.get("HTTP_COOKIE")
        path = environ.get("PATH_INFO")
        if cookie is None or path not in self.paths or not self._ask(environ, cookie):
            return self.wsgi_app(environ, start_response)
        body = self.wsgi_app(environ, start_response)
        if ENVIRON_ASKED in environ:  # resolving takes it: the page did not look this time
            self.paths.pop(path, None)
        return body

    def _ask(self, environ: dict[str, Any], cookie: str) -> bool:
        # Finds "social_auth_session=" and "__Host-social_auth_session=" alike.
        at = cookie.find(SESSION_COOKIE + "=")
        if at < 0:
            return False
        at += len(SESSION_COOKIE) + 1
        end = cookie.find(";", at)
        value = cookie[at:end] if end >= 0 else cookie[at:]
        data = known_session(self.app, value.strip())
        if data is None:
            return False
        ticket = self.cache.ask(data.commenter_id)
        if ticket is None:
            return False
        environ[ENVIRON_ASKED] = (data.commenter_id, ticket)
        return True

    def learn(self, path: str) -> None:
        """This path's page looked at the commenter: ask early on it from now on."""
        paths = self.paths
        if path not in paths:
            if len(paths) >= self.MAX_PATHS:
                paths.clear()
            paths[path] = True
