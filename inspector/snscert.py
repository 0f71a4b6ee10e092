"""Fetching an Amazon SNS signing certificate from a message's SigningCertURL, through the target policy.

Kept out of inspector/signatures, which does no I/O: this is the one place that goes and gets a key.
"""

from __future__ import annotations

from collections.abc import Callable

from inspector.replay import Outbound, deliver
from inspector.signatures.aws_sns import cert_url_problem, public_key
from inspector.signatures.base import SignatureConfigError
from inspector.targets import TargetPolicy, netloc, parse_target

# A PEM certificate is a few KiB; a larger answer is not one.
MAX_CERTIFICATE_BYTES = 16 * 1024
TIMEOUT_SECONDS = 10.0


class CertificateUnavailable(Exception):
    """The certificate could not be had; `refused` tells a URL we will not fetch from a failed fetch."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


async def fetch_certificate(
    url: str,
    *,
    policy: TargetPolicy,
    timeout: float = TIMEOUT_SECONDS,  # noqa: ASYNC109 - passed on to the delivery, as replay does
    check: Callable[[str], str | None] = cert_url_problem,
) -> str:
    """The PEM certificate at `url`, which must be an Amazon SNS certificate URL (`check`), fetched
    only through `policy`; CertificateUnavailable says why not."""
    if problem := check(url):
        raise CertificateUnavailable(problem, refused=True)
    try:
        parts = parse_target(url)
    except ValueError as exc:
        raise CertificateUnavailable(str(exc), refused=True) from None
    outbound = Outbound(method="GET", url=url, headers=[("Host", netloc(parts)), ("Accept", "*/*")], body=b"")
    result = await deliver(outbound, policy=policy, timeout=timeout, body_limit=MAX_CERTIFICATE_BYTES + 1)
    if result.error is not None:
        refused = result.error_kind in ("refused", "invalid")
        raise CertificateUnavailable(f"SigningCertURL could not be fetched: {result.error}", refused=refused)
    if result.status != 200:
        raise CertificateUnavailable(f"SigningCertURL answered {result.status}, not the certificate.")
    if result.response_body_truncated or len(result.response_body) > MAX_CERTIFICATE_BYTES:
        raise CertificateUnavailable("SigningCertURL answered with more than a certificate.")
    text = result.response_body.decode("ascii", errors="replace")
    try:
        public_key(text)
    except SignatureConfigError as exc:
        raise CertificateUnavailable(f"SigningCertURL did not answer with a certificate: {exc}") from None
    return text
