"""Why a signature failed: re-runs a check on likely variants of body, secret and URL to name the cause."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

from inspector.models import CapturedRequest
from inspector.signatures.base import (
    DIGEST_SIZES,
    b64decode_lenient,
    decode_signature,
    encode_digest,
    hexdecode,
    same,
    utf8,
)

# (body, key, url) -> does a received signature verify with these? key and url may be None
# when the scheme has no such input.
Matcher = Callable[[bytes, bytes | None, str | None], bool]

_JSON_CAUSE = (
    "something parsed the JSON and serialized it again between signing and arrival (a proxy, a "
    "framework that re-encodes bodies, or a sender that signs one serialization and sends another). "
    "Sign and verify the exact raw bytes"
)
_SCHEME_PREFIX = re.compile(r"^([A-Za-z0-9]+)[=,](.+)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def diagnose(
    *,
    matches: Matcher,
    request: CapturedRequest,
    body: bytes,
    secret: str,
    key: bytes | None,
    key_description: str,
    url: str | None = None,
    digest: bytes | None = None,
    received: Iterable[str] = (),
    encoding: str | None = None,
    prefix: str = "",
    vary_body: bool = True,
) -> list[str]:
    """Causes of a mismatch proven by a variant that verifies: the usual mistakes, tried one at a time."""
    hints: list[str] = []
    if digest is not None and encoding is not None:
        hints += encoding_hints(digest, list(received), encoding, prefix)
    if vary_body:
        hints += body_hints(lambda variant: matches(variant, key, url), body)
    if key is not None:
        hints += secret_hints(lambda variant: matches(body, variant, url), secret, key, key_description)
    if url is not None:
        hints += url_hints(lambda variant: matches(body, key, variant), url, request)
    return hints


def advice(url: str | None, *, public_key: bool = False) -> list[str]:
    """What to check when no variant explained the mismatch."""
    tips: list[str] = []
    if url is not None:
        tips.append(
            f"The URL is part of what is signed and this check used {url}. If Inspector is behind a "
            "proxy or tunnel, the sender signed a different URL: pass the exact public URL it posted "
            "to (scheme, host, port, path and query) as the url option."
        )
    if public_key:
        tips.append("The public key may belong to another application or account.")
    else:
        tips.append(
            "The secret may be wrong: use the signing secret of this exact webhook or endpoint (test "
            "and live secrets differ, and rotating a secret changes it)."
        )
    return [*tips, "The signed data may have changed after signing (body edited, or a different body sent)."]


def encoding_hints(digest: bytes, received: list[str], encoding: str, prefix: str) -> list[str]:
    """The right digest sent wrongly: other encoding, letter case, missing or extra prefix, other hash."""
    expected = encode_digest(digest, encoding)
    other = "base64" if encoding == "hex" else "hex"
    hints: list[str] = []
    for sent in received:
        bare = sent[len(prefix) :] if prefix and sent.startswith(prefix) else sent
        if prefix and not sent.startswith(prefix) and same(sent, expected):
            hints.append(
                f"The signature is right but lacks the {prefix!r} prefix: the sender must send "
                f"{prefix}{expected}."
            )
            continue
        extra = _SCHEME_PREFIX.match(bare)
        if extra and same(extra.group(2), expected):
            hints.append(
                f"The signature is right but carries an unexpected {extra.group(1)!r} prefix; this "
                f"provider sends {prefix + expected!r}."
            )
            continue
        if decode_signature(bare, other) == digest:
            hints.append(
                f"The received signature is the right digest encoded as {other}, but this provider "
                f"sends {encoding}: the sender encoded it wrongly ({other} instead of {encoding})."
            )
            continue
        if encoding == "hex" and bare != expected and bare.lower() == expected:
            hints.append("The signature is right but in upper-case hex; this provider sends lower case.")
            continue
        sizes = {len(d) for d in (decode_signature(bare, encoding), decode_signature(bare, other)) if d}
        for size in sorted(sizes):
            if size != len(digest) and size in DIGEST_SIZES:
                hints.append(
                    f"The received signature is {size} bytes long, the size of a "
                    f"{_hash_name(DIGEST_SIZES[size])} digest, but this provider uses "
                    f"{_hash_name(DIGEST_SIZES.get(len(digest), 'another hash'))}: the sender may use the "
                    "wrong hash algorithm."
                )
                break
    return hints


def _hash_name(name: str) -> str:
    return name.upper().replace("SHA", "SHA-") if name.startswith("sha") else name


def body_variants(body: bytes) -> list[tuple[str, bytes, str]]:
    """(what was changed, changed body, likely cause) for the usual ways a body is altered in transit."""
    stripped = body.rstrip(b"\r\n")
    # Whitespace first: when a newline and a re-serialization both explain it, the newline is the
    # simpler story.
    variants: list[tuple[str, bytes, str]] = [
        (
            "with its trailing newline removed",
            stripped,
            "a newline was added after signing (by the client, a proxy or a copy-paste)",
        ),
        ("with a trailing newline added", body + b"\n", "the body lost its trailing newline in transit"),
        (
            "with CRLF line endings turned into LF",
            body.replace(b"\r\n", b"\n"),
            "line endings were converted in transit",
        ),
        (
            "with LF line endings turned into CRLF",
            re.sub(rb"(?<!\r)\n", b"\r\n", body),
            "line endings were converted in transit",
        ),
        (
            "with surrounding whitespace removed",
            body.strip(),
            "whitespace was added around the body after signing",
        ),
        (
            "without its UTF-8 byte-order mark",
            body.removeprefix(b"\xef\xbb\xbf"),
            "a byte-order mark was added after signing",
        ),
    ]
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        pass
    else:
        for label, encoded in (
            (
                "re-serialized as compact JSON (separators ',' and ':', as JSON.stringify writes it)",
                json.dumps(parsed, separators=(",", ":"), ensure_ascii=False),
            ),
            (
                "re-serialized as compact JSON with non-ASCII characters escaped",
                json.dumps(parsed, separators=(",", ":")),
            ),
            (
                "re-serialized with Python's default json.dumps separators (', ' and ': ')",
                json.dumps(parsed),
            ),
            (
                "re-serialized with json.dumps default separators, non-ASCII kept",
                json.dumps(parsed, ensure_ascii=False),
            ),
            ("re-serialized as pretty-printed JSON (2-space indent)", json.dumps(parsed, indent=2)),
            (
                "re-serialized as compact JSON with sorted keys",
                json.dumps(parsed, separators=(",", ":"), sort_keys=True),
            ),
        ):
            variants.append((label, utf8(encoded), _JSON_CAUSE))
    seen = {body}
    unique: list[tuple[str, bytes, str]] = []
    for label, variant, cause in variants:
        if variant not in seen:
            seen.add(variant)
            unique.append((label, variant, cause))
    return unique


def body_hints(matches: Callable[[bytes], bool], body: bytes) -> list[str]:
    return [
        f"The signature matches the body {label}, not the bytes that arrived: {cause}."
        for label, variant, cause in body_variants(body)
        if matches(variant)
    ]


def secret_variants(secret: str) -> list[tuple[str, bytes, str]]:
    """(how the secret became a key, key, likely cause) for the usual secret mix-ups."""
    prefixed = secret.startswith("whsec_")
    bare = secret.removeprefix("whsec_")
    candidates: list[tuple[str, bytes | None, str]] = [
        (
            "the secret as plain text (its UTF-8 bytes)",
            utf8(secret),
            "the sender uses the secret's text as the key without decoding it",
        ),
        (
            "the secret with surrounding whitespace removed",
            utf8(secret.strip()),
            "the secret given here was copied with extra whitespace",
        ),
        (
            "the secret without its whsec_ prefix, as text",
            utf8(bare) if prefixed else None,
            "the sender drops the whsec_ prefix before using the secret",
        ),
        (
            "the secret with a whsec_ prefix, as text",
            None if prefixed else utf8("whsec_" + secret),
            "the secret given here lacks the whsec_ prefix that is part of it: paste it whole",
        ),
        (
            "the secret base64-decoded" + (" (the part after whsec_)" if prefixed else ""),
            b64decode_lenient(bare),
            "the sender base64-decodes the secret first",
        ),
        ("the secret hex-decoded", hexdecode(secret), "the sender hex-decodes the secret first"),
    ]
    seen: set[bytes] = set()
    unique: list[tuple[str, bytes, str]] = []
    for label, key, cause in candidates:
        if key and key not in seen:
            seen.add(key)
            unique.append((label, key, cause))
    return unique


def secret_hints(
    matches: Callable[[bytes], bool], secret: str, key: bytes, key_description: str
) -> list[str]:
    return [
        f"The signature matches when the key is {label}, whereas this provider's key is {key_description}: "
        f"{cause}."
        for label, variant, cause in secret_variants(secret)
        if variant != key and matches(variant)
    ]


def url_variants(url: str, request: CapturedRequest) -> list[str]:
    """The URL as a sender may have seen it: other scheme, port, trailing slash, proxy headers."""
    parts = urlsplit(url)
    schemes = [parts.scheme, "https" if parts.scheme == "http" else "http"]
    hosts = [parts.netloc]
    if parts.hostname:
        bare = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        hosts += [bare] + [f"{bare}:{port}" for port in _DEFAULT_PORTS.values()]
    forwarded = _forwarded(request)
    if forwarded.get("proto"):
        schemes.insert(0, forwarded["proto"])
    if forwarded.get("host"):
        hosts.insert(0, forwarded["host"])
    path = parts.path or "/"
    paths = [path, path[:-1] if path.endswith("/") and len(path) > 1 else path + "/"]
    if forwarded.get("prefix"):
        paths.insert(0, forwarded["prefix"].rstrip("/") + path)
    found: list[str] = []
    for scheme in dict.fromkeys(schemes):
        for host in dict.fromkeys(hosts):
            for candidate_path in dict.fromkeys(paths):
                for query in dict.fromkeys([parts.query, ""]):
                    variant = urlunsplit((scheme, host, candidate_path, query, parts.fragment))
                    if variant != url and variant not in found:
                        found.append(variant)
    return found


def url_hints(matches: Callable[[str], bool], url: str, request: CapturedRequest) -> list[str]:
    for variant in url_variants(url, request):
        if matches(variant):
            return [
                f"The signature matches the URL {variant}, not {url}: the sender signed the URL it "
                "posted to, which differs from what this check used (a proxy, tunnel or load balancer "
                f"in front of Inspector). Pass the public URL as the url option: {variant}"
            ]
    return []


def _forwarded(request: CapturedRequest) -> dict[str, str]:
    """What proxies said about the original URL, from Forwarded or X-Forwarded-* headers."""
    found: dict[str, str] = {}
    forwarded = request.header("forwarded")
    if forwarded:
        # Only the first hop: the one nearest the sender.
        for part in forwarded.split(",")[0].split(";"):
            name, _, value = part.strip().partition("=")
            if name.lower() in ("proto", "host") and value:
                found[name.lower()] = value.strip('"')
    for name, header in (("proto", "x-forwarded-proto"), ("host", "x-forwarded-host")):
        sent = request.header(header)
        if sent and name not in found:
            found[name] = sent.split(",")[0].strip()
    prefix = request.header("x-forwarded-prefix")
    if prefix:
        found["prefix"] = prefix.split(",")[0].strip()
    port = (request.header("x-forwarded-port") or "").strip()
    host = found.get("host", "")
    if (
        port.isdigit()
        and host
        and ":" not in host
        and _DEFAULT_PORTS.get(found.get("proto", "")) != int(port)
    ):
        found["host"] = f"{host}:{port}"
    return found
