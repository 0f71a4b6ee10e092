"""Webhook signature checking: which provider sent a request, and whether its signature holds.

Pure functions: no network, files or clock; the caller passes `now`. To add a provider, write a
module with NAME, detect, verify and sign (see base.Provider) and list it in PROVIDERS below.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from inspector.models import CapturedRequest
from inspector.signatures import (
    adyen,
    aws_sns,
    bitbucket,
    calendly,
    discord,
    dropbox,
    generic,
    github,
    gitlab,
    hubspot,
    intercom,
    linear,
    mailgun,
    mercadopago,
    meta,
    paddle,
    paystack,
    razorpay,
    sendgrid,
    shopify,
    slack,
    square,
    standard_webhooks,
    stripe,
    telegram,
    twilio,
    twitch,
    typeform,
    vercel,
    woocommerce,
    xero,
    zoom,
)
from inspector.signatures.base import (
    Provider,
    ProviderNotDetectedError,
    SignatureConfigError,
    Signed,
    UnknownProviderError,
    Verdict,
)

# Detection asks in this order and the first match wins. Meta before GitHub, which claims any
# X-Hub-Signature-256 (Meta tells itself apart by User-Agent or body); GitHub before Bitbucket before
# Intercom, because all three can send X-Hub-Signature and GitHub's own headers are the most specific.
# Schemes recognised by their body (Adyen, Amazon SNS, Mailgun) come after every header-based one.
_MODULES: tuple[Any, ...] = (
    meta,
    github,
    bitbucket,
    intercom,
    gitlab,
    stripe,
    slack,
    shopify,
    twilio,
    sendgrid,
    standard_webhooks,
    square,
    paddle,
    zoom,
    linear,
    discord,
    telegram,
    woocommerce,
    hubspot,
    razorpay,
    paystack,
    typeform,
    twitch,
    mercadopago,
    vercel,
    calendly,
    xero,
    dropbox,
    aws_sns,
    adyen,
    mailgun,
    generic,
)
PROVIDERS: dict[str, Provider] = {module.NAME: cast(Provider, module) for module in _MODULES}
AUTO = "auto"

__all__ = [
    "AUTO",
    "PROVIDERS",
    "ProviderNotDetectedError",
    "SignatureConfigError",
    "Signed",
    "UnknownProviderError",
    "Verdict",
    "detect",
    "get",
    "names",
    "options",
    "replaced_headers",
    "sign",
    "verify",
]


def names() -> list[str]:
    return list(PROVIDERS)


def get(name: str) -> Provider:
    provider = PROVIDERS.get(name.strip().lower()) if isinstance(name, str) else None
    if provider is None:
        raise UnknownProviderError(
            f"Unknown provider {name!r}; known providers: {', '.join(PROVIDERS)} (or auto)."
        )
    return provider


def detect(request: CapturedRequest) -> str | None:
    """The name of the provider whose signature headers the request carries, or None."""
    return next((name for name, provider in PROVIDERS.items() if provider.detect(request)), None)


def options(name: str, action: str = "verify") -> list[str]:
    """The option names a provider's verify (or sign) takes."""
    function = getattr(get(name), action)
    return [p.name for p in inspect.signature(function).parameters.values() if p.kind is p.KEYWORD_ONLY]


def _check_options(name: str, action: str, given: dict[str, Any]) -> None:
    allowed = options(name, action)
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        takes = f"it takes: {', '.join(allowed)}" if allowed else "it takes none"
        raise SignatureConfigError(f"{name} has no option {', '.join(unknown)}; {takes}.")


def verify(
    provider_name: str, request: CapturedRequest, secret: str, now: datetime | float, **opts: Any
) -> Verdict:
    """Check the request's signature as `provider_name` would make it ("auto": detect the provider).

    `now` is when to judge timestamps by: a datetime (naive means UTC) or Unix seconds. Options
    whose value is None are ignored, so a JSON null means "use the default". Raises
    SignatureConfigError (or a subclass) for an unknown provider, an undetectable one, an unusable
    secret or a bad option; every other outcome, valid or not, is a Verdict.
    """
    name = provider_name.strip().lower() if isinstance(provider_name, str) else provider_name
    if name == AUTO:
        detected = detect(request)
        if detected is None:
            raise ProviderNotDetectedError(
                "No known provider's signature was found on this request. Choose the provider, or use "
                f"generic with the header name. Known providers: {', '.join(PROVIDERS)}."
            )
        name = detected
    provider = get(name)
    given = {key: value for key, value in opts.items() if value is not None}
    _check_options(name, "verify", given)
    return provider.verify(request, secret, now, **given)


def sign(provider_name: str, body: bytes, secret: str, timestamp: int, **opts: Any) -> Signed:
    """Headers (and body or URL where the scheme needs them) for a correctly signed test request.

    `timestamp` is Unix seconds; schemes without one ignore it. Raises SignatureConfigError as verify does.
    """
    provider = get(provider_name)
    given = {key: value for key, value in opts.items() if value is not None}
    _check_options(provider.NAME, "sign", given)
    return provider.sign(body, secret, int(timestamp), **given)


def replaced_headers(provider_name: str, signed: Iterable[tuple[str, str]]) -> list[str]:
    """Every header (lowercase) a re-signed request must lose before the `signed` headers are added.

    The signed headers themselves, and every other header the provider's scheme signs with
    (a module's SIGNATURE_HEADERS): a GitHub capture carries X-Hub-Signature-256 and the SHA-1
    X-Hub-Signature, a Svix one svix-* where signing writes webhook-*, a Square one the legacy
    x-square-signature. One left behind would be stale, and a receiver that reads it first fails.
    """
    provider = get(provider_name)
    names = [name for name, _ in signed]
    names += getattr(provider, "SIGNATURE_HEADERS", ())
    return list(dict.fromkeys(name.lower() for name in names))
