"""The provider simulator: realistic sample events, signed as each provider signs them, sent to a URL.

The events are data files (inspector/events/<provider>.json, each naming its source); building a
delivery is pure (`prepare`), sending it goes through the target policy (`send`).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import math
import uuid
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Literal
from urllib.parse import SplitResult, quote, urlencode

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from inspector import signatures
from inspector.replay import DeliveryResult, Outbound, deliver, make_client
from inspector.signatures.base import SignatureConfigError
from inspector.targets import TargetPolicy, TargetRefused, netloc, parse_target

# How far back --stale-timestamp dates a delivery: past every provider's window (the widest is 15 min).
STALE_SECONDS = 3600
# Signing with this appended to the secret gives a signature that cannot verify (--bad-signature).
WRONG_SECRET_SUFFIX = "-not-the-secret"  # noqa: S105 - a marker, not a credential
# Used when no --secret is given; printed, so the receiver under test can be set up with it.
DEFAULT_SECRET = "inspector-test-secret"  # noqa: S105 - a published test value
# Discord snowflakes count milliseconds from the first second of 2015.
DISCORD_EPOCH_MS = 1420070400000
# Characters a path or query may carry as they are; everything else is percent-encoded (once: % is kept).
_SAFE = "/%:@!$&'()*+,;=~-._"


class SimulatorError(ValueError):
    """An unknown provider or event, or a --set that cannot be applied; the message says why."""


# What a provider's sign function takes as its secret: text; a hex key (Adyen); a whsec_ base64 key
# (Standard Webhooks); or a private key, whose public half the receiver verifies with (Discord's
# Ed25519, SendGrid's ECDSA P-256, Amazon SNS's RSA).
KeyType = Literal["text", "hex", "whsec", "ed25519", "p256", "rsa"]
KEY_KINDS = ("ed25519", "p256", "rsa")


class Event(msgspec.Struct, frozen=True, kw_only=True):
    headers: list[tuple[str, str]] = []
    body: Any
    # Options for the provider's sign function (Amazon SNS's message_type, subject).
    options: dict[str, str] = {}
    # When this event's id differs in kind from the catalogue's (a Twilio call's CA... beside SM...).
    id_prefix: str | None = None


class Catalogue(msgspec.Struct, frozen=True, kw_only=True):
    """One provider's sample events and how it delivers them."""

    provider: str
    source: str
    timeout_seconds: float
    timeout_source: str
    events: dict[str, Event]
    headers: list[tuple[str, str]] = []
    # Where the delivery id goes: a header (GitHub's X-GitHub-Delivery) or a body field (Stripe's id).
    id_header: str | None = None
    id_path: str | None = None
    id_prefix: str = ""
    # "form": the body goes as application/x-www-form-urlencoded (Twilio), its values flat.
    body_encoding: Literal["json", "form"] = "json"
    key_type: KeyType = "text"
    # The secret used when none is given, where DEFAULT_SECRET is not of the provider's kind.
    default_secret: str | None = None


class Prepared(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery ready to send, and what it was built from."""

    provider: str
    event: str
    delivery_id: str
    timestamp: int
    outbound: Outbound
    signed_payload: str
    bad_signature: bool
    timeout_seconds: float
    # What the receiver verifies with: the secret itself, or for a public-key scheme the public key.
    verify_secret: str


def providers() -> list[str]:
    """The providers with sample events, in name order."""
    folder = resources.files("inspector") / "events"
    return sorted(item.name.removesuffix(".json") for item in folder.iterdir() if item.name.endswith(".json"))


def catalogue(provider: str) -> Catalogue:
    name = provider.strip().lower()
    if name not in providers():
        raise SimulatorError(
            f"No sample events for {provider!r}; the simulator knows: {', '.join(providers())}."
        )
    data = (resources.files("inspector") / "events" / f"{name}.json").read_bytes()
    return msgspec.json.decode(data, type=Catalogue)


def default_secret(provider: str) -> str:
    """The secret used when none is given: DEFAULT_SECRET, unless the provider needs a key of a form."""
    try:
        book = catalogue(provider)
    except SimulatorError:
        return DEFAULT_SECRET
    return book.default_secret or DEFAULT_SECRET


def _is_private_key(kind: KeyType, secret: str) -> bool:
    """Whether the secret is already a key sign() takes, rather than text to derive one from."""
    text = secret.strip()
    if kind == "ed25519":
        return len(text) == 64 and all(char in "0123456789abcdefABCDEF" for char in text)
    if "-----BEGIN" in text:
        return True
    if kind == "p256":
        # SendGrid's sign() also takes base64 DER.
        try:
            serialization.load_der_private_key(base64.b64decode(text, validate=True), None)
        except (ValueError, TypeError):
            return False
        return True
    return False


class _Stream:
    """Deterministic bytes from a seed (SHA-512 in counter mode): what a derived key is drawn from."""

    def __init__(self, seed: bytes) -> None:
        self.seed, self.counter, self.buffer = seed, 0, b""

    def integer(self, size: int) -> int:
        while len(self.buffer) < size:
            self.buffer += hashlib.sha512(self.seed + self.counter.to_bytes(8, "big")).digest()
            self.counter += 1
        chunk, self.buffer = self.buffer[:size], self.buffer[size:]
        return int.from_bytes(chunk, "big")


# The product of the odd primes below 2000: one gcd rules out most composite candidates at once.
_SMALL_PRIMES = math.prod(p for p in range(3, 2000, 2) if all(p % d for d in range(3, math.isqrt(p) + 1, 2)))
RSA_EXPONENT = 65537


def _probably_prime(n: int, stream: _Stream, rounds: int = 24) -> bool:
    """Miller-Rabin; the candidates are not chosen by an adversary, so 24 rounds is ample."""
    if math.gcd(n, _SMALL_PRIMES) != 1:
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        x = pow(stream.integer(128) % (n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(stream: _Stream) -> int:
    while True:
        # 1024 bits with the top two set, so the product of two is a full 2048-bit modulus.
        candidate = stream.integer(128) | (3 << 1022) | 1
        if (candidate - 1) % RSA_EXPONENT and _probably_prime(candidate, stream):
            return candidate


@functools.cache
def _derived_rsa(seed: bytes) -> str:
    """A 2048-bit RSA key drawn deterministically from the seed: no library derives one from text, and
    a stable key means the receiver under test is given its public key once (about a second, cached)."""
    stream = _Stream(seed)
    p, q = _prime(stream), _prime(stream)
    d = pow(RSA_EXPONENT, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(RSA_EXPONENT, p * q)
    )
    return (
        numbers.private_key()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode("ascii")
    )


def _derived_key(kind: KeyType, text: str) -> str:
    """A private key of `kind` derived from any text, so one --secret gives the same public key."""
    seed = hashlib.sha256(text.encode()).digest()
    if kind == "ed25519":
        return seed.hex()
    if kind == "p256":
        curve = ec.SECP256R1()
        # Any integer in [1, n-1] is a valid scalar; n is just under 2**256.
        order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
        private = ec.derive_private_key(int.from_bytes(seed) % (order - 1) + 1, curve)
        return private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii")
    return _derived_rsa(seed)


def signing_secret(kind: KeyType, secret: str, *, wrong: bool = False) -> str:
    """What the provider's sign() takes, from the secret given; `wrong` gives one that cannot verify
    but is of the same form (a different key), so --bad-signature still sends a well-formed request."""
    if not wrong:
        if kind in KEY_KINDS and not _is_private_key(kind, secret):
            return _derived_key(kind, secret)
        return secret
    other = secret + WRONG_SECRET_SUFFIX
    if kind in KEY_KINDS:
        return _derived_key(kind, other)
    if kind == "hex":
        return hashlib.sha256(other.encode()).hexdigest()
    if kind == "whsec":
        return "whsec_" + base64.b64encode(hashlib.sha256(other.encode()).digest()[:24]).decode()
    return other


def _fill(value: Any, values: dict[str, Any]) -> Any:
    """Placeholders in a sample ({{id}}, {{timestamp}}, {{timestamp_ms}}, {{iso_time}}, {{iso_seconds}},
    {{snowflake}}): a string that is
    only a number's placeholder becomes the number; inside longer text, its digits."""
    if isinstance(value, dict):
        return {key: _fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, values) for item in value]
    if isinstance(value, str):
        for name, replacement in values.items():
            token = "{{" + name + "}}"
            if value == token:
                return replacement
            value = value.replace(token, str(replacement))
    return value


def parse_set(assignment: str) -> tuple[list[str], Any]:
    """ "data.object.amount=500" -> (["data", "object", "amount"], 500); values are JSON, else text."""
    path, eq, raw = assignment.partition("=")
    keys = [key for key in path.strip().split(".")]
    if not eq or not all(keys):
        raise SimulatorError(
            f"--set takes PATH=VALUE with a dotted path, like data.object.amount=500: {assignment!r}"
        )
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return keys, value


def apply_set(body: Any, keys: list[str], value: Any) -> None:
    node = body
    for depth, key in enumerate(keys[:-1]):
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict):
            node = node.setdefault(key, {})
        else:
            raise SimulatorError(f"--set {'.'.join(keys)}: {'.'.join(keys[: depth + 1])} is not an object.")
    last = keys[-1]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        parent = ".".join(keys[:-1]) or "the body"
        raise SimulatorError(f"--set {'.'.join(keys)}: {parent} is not an object.")


def delivery_id(provider: str, event: str, now: int, prefix: str = "") -> str:
    digest = hashlib.sha256(f"{provider}/{event}/{now}".encode()).digest()[:16]
    return prefix + (uuid.UUID(bytes=digest).hex if prefix else str(uuid.UUID(bytes=digest)))


def prepare(
    provider: str,
    event: str,
    *,
    to: str,
    secret: str,
    now: int,
    sets: list[str] | tuple[str, ...] = (),
    bad_signature: bool = False,
    stale_timestamp: bool = False,
    same_id: str | None = None,
) -> Prepared:
    """The exact request `provider` would send for `event` to `to`, signed at `now` (Unix seconds).

    `same_id` repeats an earlier delivery's id, as a provider's retry would.
    """
    book = catalogue(provider)
    sample = book.events.get(event)
    if sample is None:
        raise SimulatorError(
            f"{book.provider} has no sample event {event!r}; it has: {', '.join(book.events)}."
        )
    try:
        # What the provider signs (Square, HubSpot) is the URL as it goes on the wire.
        to = wire_url(parse_target(to))
    except (ValueError, TargetRefused) as exc:
        raise SimulatorError(f"--to {to!r}: {exc}") from None
    timestamp = now - STALE_SECONDS if stale_timestamp else now
    prefix = book.id_prefix if sample.id_prefix is None else sample.id_prefix
    ident = same_id or delivery_id(book.provider, event, now, prefix)
    moment = datetime.fromtimestamp(timestamp, UTC)
    body = _fill(
        sample.body,
        {
            "id": ident,
            "timestamp": timestamp,
            "timestamp_ms": timestamp * 1000,
            "iso_time": moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "iso_seconds": moment.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            # A Discord id: milliseconds since Discord's epoch, shifted past worker, process and increment.
            "snowflake": str((timestamp * 1000 - DISCORD_EPOCH_MS) << 22),
        },
    )
    if book.id_path:
        apply_set(body, book.id_path.split("."), ident)
    # After the id, so --set may change any field, the id included.
    for assignment in sets:
        keys, value = parse_set(assignment)
        apply_set(body, keys, value)
    if book.body_encoding == "form":
        if not isinstance(body, dict) or any(isinstance(value, dict | list) for value in body.values()):
            raise SimulatorError(f"{book.provider} posts a form: every field's value must be plain text.")
        raw = urlencode({key: _form_text(value) for key, value in body.items()}).encode()
    else:
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    options: dict[str, Any] = dict(sample.options)
    sign_options = signatures.options(book.provider, "sign")
    if "url" in sign_options:
        options["url"] = to
    # The delivery id goes where the provider's scheme carries it (SNS's MessageId, a webhook-id).
    for name in ("message_id", "msg_id"):
        if name in sign_options:
            options[name] = ident
    right = signing_secret(book.key_type, secret)
    try:
        signed = signatures.sign(book.provider, raw, right, timestamp, **options)
        verify_secret = signed.verify_secret or secret
        if bad_signature:
            wrong = signing_secret(book.key_type, secret, wrong=True)
            signed = signatures.sign(book.provider, raw, wrong, timestamp, **options)
    except SignatureConfigError as exc:
        raise SimulatorError(str(exc)) from None
    headers = [
        (name, value) for name, value in [*book.headers, *sample.headers] if name.lower() != "content-type"
    ]
    content_type = next(
        (value for name, value in [*book.headers, *sample.headers] if name.lower() == "content-type"),
        "application/json",
    )
    names = {name.lower() for name, _ in signed.headers}
    headers = [(name, value) for name, value in headers if name.lower() not in names]
    if book.id_header and book.id_header.lower() not in names:
        headers.append((book.id_header, ident))
    parts = parse_target(signed.url or to)
    outbound = Outbound(
        method="POST",
        url=wire_url(parts),
        headers=[
            ("Host", netloc(parts)),
            *headers,
            *signed.headers,
            *([] if "content-type" in names else [("Content-Type", content_type)]),
            ("Content-Length", str(len(signed.body))),
        ],
        body=signed.body,
    )
    return Prepared(
        provider=book.provider,
        event=event,
        delivery_id=ident,
        timestamp=timestamp,
        outbound=outbound,
        signed_payload=signed.signed_payload,
        bad_signature=bad_signature,
        timeout_seconds=book.timeout_seconds,
        verify_secret=verify_secret,
    )


def _form_text(value: Any) -> str:
    # As a form carries them: JSON's true/false as Twilio writes booleans, numbers as digits.
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def wire_url(parts: SplitResult) -> str:
    """The URL as it goes on the wire: the host in IDNA form, the path and query percent-encoded."""
    path = quote(parts.path or "/", safe=_SAFE)
    query = quote(parts.query, safe=_SAFE + "?")
    return f"{parts.scheme}://{netloc(parts)}{path}" + (f"?{query}" if parts.query else "")


class Sent(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery and the target's answer, judged as the provider would judge it."""

    prepared: Prepared
    result: DeliveryResult

    @property
    def accepted(self) -> bool:
        """A 2xx within the provider's timeout: what the provider counts as delivered."""
        return self.result.ok and self.result.duration_ms <= self.prepared.timeout_seconds * 1000

    def summary(self) -> str:
        result = self.result
        answer = result.error or f"{result.status} {result.reason or ''}".strip()
        verdict = (
            f"delivered (2xx within {self.prepared.provider}'s {self.prepared.timeout_seconds:g} s)"
            if self.accepted
            else "not delivered: "
            + (
                "no 2xx answer"
                if not result.ok
                else f"slower than {self.prepared.provider}'s {self.prepared.timeout_seconds:g} s timeout"
            )
        )
        took = f"{result.duration_ms:g} ms"
        return f"{self.prepared.event} {self.prepared.delivery_id} -> {answer} in {took}, {verdict}"


async def send(
    provider: str,
    event: str,
    *,
    to: str,
    secret: str,
    policy: TargetPolicy,
    sets: list[str] | tuple[str, ...] = (),
    repeat: int = 1,
    delay: float = 0,
    bad_signature: bool = False,
    stale_timestamp: bool = False,
    clock: Any = None,
) -> list[Sent]:
    """Send the event `repeat` times (the same id each time, signed afresh), `delay` seconds apart.

    The wait for an answer is a little longer than the provider's timeout, so a slow answer is seen
    and reported as too slow rather than cut off.
    """
    now = clock or (lambda: int(datetime.now(UTC).timestamp()))
    sent: list[Sent] = []
    first: str | None = None
    async with make_client(policy) as client:
        for index in range(repeat):
            if index and delay:
                await asyncio.sleep(delay)
            prepared = prepare(
                provider,
                event,
                to=to,
                secret=secret,
                now=now(),
                sets=sets,
                bad_signature=bad_signature,
                stale_timestamp=stale_timestamp,
                same_id=first,
            )
            first = prepared.delivery_id
            result = await deliver(
                prepared.outbound, policy=policy, timeout=prepared.timeout_seconds + 5, client=client
            )
            sent.append(Sent(prepared=prepared, result=result))
    return sent
