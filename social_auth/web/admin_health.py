"""The admin's provider health page (``<prefix>/admin/health``): on the admin blueprint, so
its guard (``SOCIAL_AUTH_ADMIN_CHECK``) and security headers apply."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, jsonify, render_template, request
from flask.wrappers import Response

from ..admin import bp
from ..health_report import report
from ..site import absolute_url
from ..state import get_state


def health_entries() -> list[dict[str, Any]]:
    """The report for this app's providers, callbacks from ``SOCIAL_AUTH_SITE_URL``."""
    state = get_state()
    assert state.health is not None
    callbacks = {name: absolute_url("social_auth.callback", provider=name)
                 for name in state.providers}
    return report(state.providers, state.health, callbacks, time.time())


@bp.get("/health")
def health() -> Response:
    entries = health_entries()
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"providers": entries})
    body = render_template("social_auth/admin/health.html", entries=entries)
    return current_app.response_class(body, mimetype="text/html")
