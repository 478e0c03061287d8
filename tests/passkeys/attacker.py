"""A page on another origin (``http://evil.localhost:<port>``) that asks the browser for an
assertion with a challenge relayed from the real site: what a phishing page would try."""

from __future__ import annotations

from flask import Flask

PAGE = """<!doctype html><title>Not the blog</title><script>
window.assertion = async (options, rpId) => {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON({...options, rpId: rpId});
  const credential = await navigator.credentials.get({publicKey});
  return credential.toJSON();
};
</script>"""


def attacker_app() -> Flask:
    app = Flask("attacker")

    @app.get("/")
    def page() -> str:
        return PAGE

    return app
