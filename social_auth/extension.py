"""``SocialAuth``: reads the config once and wires the store, providers and CLI into an app."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from flask import Flask, Request, after_this_request, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from . import admin, session, views
from .avatars.fetching import Avatars
from .avatars.settings import KEYS as AVATAR_KEYS
from .avatars.settings import AvatarSettings, load_avatar_settings
from .cli import social_auth_cli
from .config import Settings, config_key, load_settings
from .errors import ConfigError
from .fetch import SafeFetcher, fetcher_from_config
from .flow import FlowSettings, SqlUsedStates
from .guest import ConsoleMailer, Mailer, SmtpMailer
from .handles import CAPABILITIES as HANDLE_CAPABILITIES
from .handles import handle_settings
from .health import HealthRecorder, HealthSink
from .health_redis import RedisHealthSink
from .icons import provider_icon
from .linking import LinkingPolicy
from .moderation import KEYS, Moderator, load_moderation_settings
from .provider import Provider
from .ratelimit import make_limiter
from .registry import ProviderRegistry
from .revocation import CommenterCache, RedisGenerations
from .state import EXTENSION_KEY, SocialAuthState, get_state
from .store import IdentityStore
from .store.avatars import AvatarStore
from .store.health import SqlHealthSink
from .web import admin_health, avatars  # noqa: F401 - admin_health adds its page to the admin
from .web.block import login_block
from .web.moderation import spam_fields

#: Largest request body our routes accept (a guest form or a callback is a few KiB at most).
MAX_BODY_BYTES = 64 * 1024


class SocialAuth:
    """Flask extension object; holds no app, so one instance can serve several apps."""

    def __init__(
        self, app: Flask | None = None, *, providers: Iterable[type[Provider]] | None = None
    ) -> None:
        self._adapters = list(providers) if providers is not None else None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        settings = load_settings(app.config, debug=app.debug, instance_path=app.instance_path,
                                 feature_keys=(*AVATAR_KEYS, *KEYS))
        registry = ProviderRegistry(self._adapters)
        providers = configure_providers(settings, registry)
        if config_key("database_uri") not in app.config:
            os.makedirs(app.instance_path, exist_ok=True)
        store = IdentityStore.from_url(settings.database_uri, **settings.database_engine_options)
        *fallbacks, newest = settings.secret_keys
        state = SocialAuthState(
            settings=settings,
            store=store,
            providers=providers,
            registry=registry,
            mailer=make_mailer(settings),
            rate_limiter=make_limiter(settings.redis_url),
            flow_settings=FlowSettings(
                secret_key=newest,
                used_states=SqlUsedStates(store.engine),
                fallbacks=tuple(fallbacks),
            ),
            linking_policy=LinkingPolicy(
                link_by_verified_email=settings.link_by_verified_email,
                # The handle sign-ins' email rules too (only Bluesky's PDS ever verifies one).
                capabilities={
                    **HANDLE_CAPABILITIES,
                    **{name: p.capabilities for name, p in providers.items()},
                },
            ),
            fetcher=fetcher_from_config(app.config),
            handles=handle_settings(app.config, debug=app.debug),
        )
        if settings.redis_url:
            state.commenter_cache = make_commenter_cache(settings)
            store.add_change_listener(state.commenter_cache.changed)
        state.moderator = Moderator(load_moderation_settings(app.config, debug=app.debug), store)
        app.extensions[EXTENSION_KEY] = state
        state.avatars = make_avatars(app, settings, store, state.fetcher)
        state.health = make_health(settings, state.avatars.settings, store)

        app.cli.add_command(social_auth_cli)
        _wire_web(app)

    @property
    def store(self) -> IdentityStore:
        """The current app's identity store."""
        return get_state().store


def _wire_web(app: Flask) -> None:
    # A host route that never touches the extension runs nothing of ours but one prefix test
    # (``_our_urls``): cookie writes and ``Vary`` are applied by a hook that each request
    # needing one registers for itself (``web.cookies``), and the templates' names are globals.
    views.register(app)
    avatars.wire(app, get_state(app).avatars)  # type: ignore[arg-type]
    settings = get_state(app).settings
    admin_prefix = admin.register(app) if settings.admin_check is not None else None
    app.before_request(_our_urls(settings.url_prefix, admin_prefix))
    state = get_state(app)
    if state.commenter_cache is not None:
        state.ask_early = session.AskEarly(app.wsgi_app, app, state.commenter_cache)
        app.wsgi_app = state.ask_early  # type: ignore[method-assign]
    app.add_template_global(login_block, "social_auth_login")
    app.add_template_global(session.take_draft, "social_auth_draft")
    app.add_template_global(session.csrf_token, "social_auth_csrf_token")
    app.add_template_global(provider_icon, "social_auth_icon")
    app.add_template_global(spam_fields, "social_auth_spam")
    # A global rather than a context processor: looked up only by templates that use it.
    app.jinja_env.globals["current_commenter"] = session.current_commenter


def _our_urls(url_prefix: str, admin_prefix: str | None) -> Callable[[], None]:
    """The app's one ``before_request``: for our URLs only, cap the body (``MAX_BODY_BYTES``)
    and, under the admin prefix, schedule the admin's security headers.

    On the app, not on our blueprints: it must run before any blueprint's own hooks (the
    admin's reads the form for its CSRF check, and refuses a non-admin with a 403 first), and
    it runs for a 404 or 405 too, which no blueprint hook sees. The limit is set per request,
    for our URLs only: the host may accept large uploads on its own routes (its
    ``MAX_CONTENT_LENGTH`` still applies when smaller). Werkzeug answers 413 as soon as the
    declared length, or the bytes actually read, pass the limit. A host route pays only the
    one ``startswith``: app-wide ``after_request`` hooks cost every page ~2 µs each.
    """
    prefix = url_prefix.rstrip("/") + "/"
    admin_root = admin_prefix.rstrip("/") if admin_prefix is not None else None

    def our_urls() -> None:
        req = request._get_current_object()  # type: ignore[attr-defined]
        path = req.path
        if not path.startswith(prefix):
            return
        if admin_root is not None and (path == admin_root or path.startswith(admin_root + "/")):
            after_this_request(admin.security_headers)
        _limit_body(req)

    return our_urls


def _limit_body(req: Request) -> None:
    host_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    limit = min(MAX_BODY_BYTES, host_limit or MAX_BODY_BYTES)
    req.max_content_length = limit
    if (req.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def make_commenter_cache(settings: Settings) -> CommenterCache:
    """Per-worker commenters revoked through Redis generation tokens (``revocation``)."""
    assert settings.redis_url
    ttl = int(settings.session_lifetime.total_seconds()) + 86_400
    generations = RedisGenerations(settings.redis_url, ttl=ttl)
    return CommenterCache(generations, errors=generations.errors)


def make_mailer(settings: Settings) -> Mailer:
    """The mailer ``SOCIAL_AUTH_MAILER`` names (or is)."""
    if settings.mailer == "console":
        return ConsoleMailer()
    if settings.mailer == "smtp":
        return SmtpMailer(settings.mail_server, settings.mail_port, settings.mail_sender)
    if not callable(getattr(settings.mailer, "send", None)):
        raise ConfigError(config_key("mailer"), "must have a send(to, subject, body) method")
    return settings.mailer  # type: ignore[return-value]


def configure_providers(settings: Settings, registry: ProviderRegistry) -> dict[str, Provider]:
    """One ``Provider`` per configured instance; the ``dev`` provider when it is enabled."""
    key = config_key("providers")
    providers: dict[str, Provider] = {}
    for instance_name, instance_settings in settings.providers.items():
        adapter_name = str(instance_settings.get("provider", instance_name))
        adapter = registry.get(adapter_name, config_key=f"{key}[{instance_name!r}]")
        providers[instance_name] = adapter(instance_name, instance_settings)
    if settings.dev_provider and "dev" not in providers:
        adapters = registry.adapters()
        if "dev" not in adapters:
            raise ConfigError(config_key("dev_provider"), "is on but no 'dev' adapter is installed")
        providers["dev"] = adapters["dev"]("dev", {})
    return providers


def make_avatars(
    app: Flask, settings: Settings, store: IdentityStore, fetcher: SafeFetcher
) -> Avatars:
    """The picture store and its settings (``SOCIAL_AUTH_AVATAR_*``, ``SOCIAL_AUTH_GRAVATAR``);
    pictures are fetched by the one safe fetcher (public addresses only, deadline, size cap)."""
    chosen = load_avatar_settings(app.config)
    return Avatars(AvatarStore(store, chosen.avatar_dir), fetcher, chosen,
                   settings.url_prefix.rstrip("/"))


def make_health(settings: Settings, chosen: AvatarSettings, store: IdentityStore) -> HealthRecorder:
    """Provider health counts, shared through Redis when it is set, else the database."""
    sink: HealthSink = (RedisHealthSink(settings.redis_url) if settings.redis_url
                        else SqlHealthSink(store.engine))
    return HealthRecorder(sink, flush_every=chosen.health_flush)
