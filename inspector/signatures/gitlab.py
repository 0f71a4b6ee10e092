"""GitLab: X-Gitlab-Token carries the secret token itself, compared as is (it is not a signature)."""

from __future__ import annotations

from datetime import datetime

from inspector.models import CapturedRequest
from inspector.signatures.base import Signed, Verdict, failed, missing, require_secret, same

NAME = "gitlab"
HEADER = "X-Gitlab-Token"
ALGORITHM = "plain token comparison (not a signature: the body is not protected)"


def detect(request: CapturedRequest) -> bool:
    return request.header("x-gitlab-token") is not None


def verify(request: CapturedRequest, secret: str, now: datetime | float) -> Verdict:
    require_secret(secret, "secret token")
    token = request.header(HEADER)
    if token is None:
        if request.header("webhook-signature") is not None:
            return missing(
                NAME,
                HEADER,
                hint="This request carries webhook-signature: GitLab's signed webhooks use the Standard "
                "Webhooks format, so check it with the standard-webhooks provider and the signing token.",
            )
        return missing(NAME, HEADER)
    if same(token, secret):
        return Verdict(
            valid=True,
            provider=NAME,
            reason=f"Valid: {HEADER} equals the secret token.",
            header=HEADER,
            algorithm=ALGORITHM,
            expected=secret,
            received=token,
        )
    hints = []
    if token.strip() == secret.strip():
        hints.append("The tokens differ only in surrounding whitespace: one of them was copied with a space.")
    elif token.lower() == secret.lower():
        hints.append("The tokens differ only in letter case; the comparison is case-sensitive.")
    elif not token:
        hints.append("The webhook has no secret token set in GitLab, so the header is empty.")
    hints.append(
        "GitLab sends the secret token exactly as entered in the webhook settings; set the same token there."
    )
    return failed(
        NAME,
        f"{HEADER} does not equal the secret token.",
        header=HEADER,
        algorithm=ALGORITHM,
        expected=secret,
        received=token,
        hints=hints,
    )


def sign(body: bytes, secret: str, timestamp: int) -> Signed:
    require_secret(secret, "secret token")
    return Signed(provider=NAME, headers=[(HEADER, secret)], body=body, signed_payload="")
