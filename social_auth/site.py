"""The site's own absolute address, and every absolute URL the package makes from it.

Mailed links, OAuth ``redirect_uri`` values, the popup's postMessage origin and the CLI's
callback list all come from ``SOCIAL_AUTH_SITE_URL`` (or ``SERVER_NAME``), resolved once by
``config.load_settings``; never from the request's ``Host`` or ``X-Forwarded-Host``, which a
visitor chooses. Only in debug, with neither set, the request's own address serves.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, request

from .state import get_state


def site_url(app: Flask | None = None) -> str:
    """``https://blog.example`` or ``https://example.org/blog``: no trailing slash."""
    target = app if app is not None else current_app
    configured = get_state(target).settings.site_url
    if configured:
        return configured
    if not has_request_context():
        raise RuntimeError(
            "SOCIAL_AUTH_SITE_URL is not set: absolute URLs need a request (debug mode only)"
        )
    # Debug only (``load_settings`` refuses this outside it): the address this browser used.
    return request.url_root.rstrip("/")


def site_origin(app: Flask | None = None) -> str:
    """The scheme, host and port of ``site_url``: where postMessage may go."""
    parts = urlsplit(site_url(app))
    return f"{parts.scheme}://{parts.netloc}"


def absolute_url(endpoint: str, /, **values: Any) -> str:
    """The current app's absolute URL of ``endpoint`` (``absolute_url_in``)."""
    return absolute_url_in(current_app, endpoint, values)


def absolute_url_in(app: Flask, endpoint: str, values: dict[str, Any]) -> str:
    """The site's absolute URL of ``endpoint`` in ``app`` (``path_in``)."""
    return site_url(app) + path_in(app, endpoint, values)


def path_in(app: Flask, endpoint: str, values: dict[str, Any]) -> str:
    """``endpoint``'s path within the app (values it does not take become the query), built
    by the app's URL map without any request's script root: the site address already holds
    the path the app is mounted at."""
    adapter = app.url_map.bind("site.invalid", script_name="/")
    path: str = adapter.build(endpoint, values)
    return path
