"""The provider simulator: realistic sample events, signed as each provider signs them, sent to a URL.

The events are data files (inspector/events/<provider>.json, each naming its source); building a
delivery is pure (`prepare`), sending it goes through the target policy (`send`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import SplitResult, quote

import msgspec

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
# Characters a path or query may carry as they are; everything else is percent-encoded (once: % is kept).
_SAFE = "/%:@!$&'()*+,;=~-._"


class SimulatorError(ValueError):
    """An unknown provider or event, or a --set that cannot be applied; the message says why."""


class Event(msgspec.Struct, frozen=True, kw_only=True):
    headers: list[tuple[str, str]] = []
    body: Any


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


def _fill(value: Any, values: dict[str, Any]) -> Any:
    """Placeholders in a sample ({{id}}, {{timestamp}}, {{timestamp_ms}}, {{iso_time}}): a string that is
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
    ident = same_id or delivery_id(book.provider, event, now, book.id_prefix)
    body = _fill(
        sample.body,
        {
            "id": ident,
            "timestamp": timestamp,
            "timestamp_ms": timestamp * 1000,
            "iso_time": datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
        },
    )
    if book.id_path:
        apply_set(body, book.id_path.split("."), ident)
    # After the id, so --set may change any field, the id included.
    for assignment in sets:
        keys, value = parse_set(assignment)
        apply_set(body, keys, value)
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    options: dict[str, Any] = {}
    sign_options = signatures.options(book.provider, "sign")
    if "url" in sign_options:
        options["url"] = to
    if "message_id" in sign_options:
        options["message_id"] = ident
    signing_secret = secret + WRONG_SECRET_SUFFIX if bad_signature else secret
    try:
        signed = signatures.sign(book.provider, raw, signing_secret, timestamp, **options)
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
    )


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
