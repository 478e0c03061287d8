"""Provider base every adapter subclasses, and the names adapters, the flow and tests import.

``Provider`` is composed the way Authlib composes its clients (``OAuth2Mixin``, ``OpenIDMixin``):
``core.ProviderBase`` (settings, the OAuth 2.0 flow, calls through ``transport.Transport``), with
``openid.OpenIDMixin`` and ``oauth1.OAuth1Mixin`` taking over where an adapter's ``protocol`` says.
Every failure of a provider becomes a ``ProviderError`` with status 502 (504 for a timeout).
"""

from __future__ import annotations

from ..profile import Capabilities as Capabilities
from ..profile import EmailVerification as EmailVerification
from ..profile import Profile as Profile
from ..profile import web_url as web_url
from .core import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from .core import ENDPOINT_OVERRIDES as ENDPOINT_OVERRIDES
from .core import TOKEN_ENDPOINT_AUTH_METHODS as TOKEN_ENDPOINT_AUTH_METHODS
from .core import TOKEN_REQUEST_FAILED as TOKEN_REQUEST_FAILED
from .core import UNAVAILABLE_FOR as UNAVAILABLE_FOR
from .core import USER_AGENT as USER_AGENT
from .core import Api as Api
from .core import AuthorizationRequest as AuthorizationRequest
from .core import Protocol as Protocol
from .core import ProviderBase as ProviderBase
from .core import decode_json as decode_json
from .core import new_secret as new_secret
from .oauth1 import OAuth1Mixin as OAuth1Mixin
from .openid import ASYMMETRIC_ALGORITHMS as ASYMMETRIC_ALGORITHMS
from .openid import JWKS_MAX_AGE_CAP as JWKS_MAX_AGE_CAP
from .openid import JWKS_MAX_AGE_DEFAULT as JWKS_MAX_AGE_DEFAULT
from .openid import JWKS_MAX_AGE_FLOOR as JWKS_MAX_AGE_FLOOR
from .openid import JWKS_REFETCH_INTERVAL as JWKS_REFETCH_INTERVAL
from .openid import LEEWAY as LEEWAY
from .openid import MAX_ID_TOKEN_BYTES as MAX_ID_TOKEN_BYTES
from .openid import MAX_KNOWN_HEADERS as MAX_KNOWN_HEADERS
from .openid import OpenIDMixin as OpenIDMixin
from .transport import MAX_ANSWER_BYTES as MAX_ANSWER_BYTES
from .transport import Answer as Answer
from .transport import AnswerTooLarge as AnswerTooLarge
from .transport import Transport as Transport


class Provider(OAuth1Mixin, OpenIDMixin, ProviderBase):
    """One configured provider instance: class data from the adapter, settings from the app.
    An adapter subclasses this and sets ``protocol``; the mixins do the rest."""
