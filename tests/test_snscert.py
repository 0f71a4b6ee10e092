"""Fetching Amazon SNS signing certificates: only Amazon's URLs, only through the target policy.

Tests connect to loopback only: a certificate server on 127.0.0.1 stands in for Amazon, reached by
replacing the URL check (the real one admits nothing but https on sns.<region>.amazonaws.com).
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from conftest import Recorded, RecordingTarget, ServerProcess
from signatures.helpers import NOW, make_request
from signatures.test_aws_sns import CERTIFICATE, notification

from inspector.signatures import aws_sns
from inspector.snscert import CertificateUnavailable, fetch_certificate
from inspector.targets import TargetPolicy

LOCAL = TargetPolicy(allow_private=True)


def serving(body: bytes, status: int = 200):
    def respond(recorded: Recorded) -> tuple[int, list[tuple[str, str]], bytes]:
        return status, [("Content-Type", "application/x-x509-ca-cert")], body

    return respond


def loopback_check(url: str) -> str | None:
    return None if url.startswith("http://127.0.0.1:") else "not loopback"


def test_certificate_is_fetched_and_verifies(recording_target) -> None:
    target: RecordingTarget = recording_target(serving(CERTIFICATE.encode()))
    pem = asyncio.run(
        fetch_certificate(f"{target.url}/SimpleNotificationService-x.pem", policy=LOCAL, check=loopback_check)
    )
    assert pem == CERTIFICATE
    request = make_request(json.dumps(notification()).encode(), [("x-amz-sns-message-type", "Notification")])
    assert aws_sns.verify(request, pem, NOW).valid
    [recorded] = target.requests
    assert recorded.method == "GET"


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        "https://attacker.example/SimpleNotificationService-x.pem",
        "https://sns.us-east-1.amazonaws.com.attacker.example/x.pem",
        "https://sns.us-east-1.amazonaws.com/not-a-certificate.txt",
    ],
)
def test_only_amazon_sns_certificate_urls_are_fetched(url: str) -> None:
    # Refused before any connection: these hosts are never contacted.
    with pytest.raises(CertificateUnavailable, match="Amazon SNS host") as caught:
        asyncio.run(fetch_certificate(url, policy=LOCAL))
    assert caught.value.refused


def test_the_target_policy_still_applies(recording_target) -> None:
    target: RecordingTarget = recording_target(serving(CERTIFICATE.encode()))
    public_only = TargetPolicy(allow_private=False)
    with pytest.raises(CertificateUnavailable) as caught:
        asyncio.run(fetch_certificate(f"{target.url}/c.pem", policy=public_only, check=loopback_check))
    assert caught.value.refused
    assert target.connections == 0


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"<html>not found</html>", 404, "answered 404"),
        (b"hello", 200, "did not answer with a certificate"),
        (b"x" * 20_000, 200, "more than a certificate"),
    ],
)
def test_bad_answers_are_explained(recording_target, body: bytes, status: int, fragment: str) -> None:
    target: RecordingTarget = recording_target(serving(body, status))
    with pytest.raises(CertificateUnavailable, match=fragment) as caught:
        asyncio.run(fetch_certificate(f"{target.url}/c.pem", policy=LOCAL, check=loopback_check))
    assert not caught.value.refused


def test_verify_api_refuses_to_fetch_a_foreign_certificate(
    client: httpx.Client, server: ServerProcess, bin_id: str
) -> None:
    fields = {**notification(), "SigningCertURL": "https://attacker.example/cert.pem"}
    response = client.post(
        f"/b/{bin_id}", content=json.dumps(fields), headers={"x-amz-sns-message-type": "Notification"}
    )
    request_id = response.headers["x-inspector-request-id"]
    verify = client.post(
        f"/api/bins/{bin_id}/requests/{request_id}/verify",
        json={"provider": "auto", "secret": "", "fetch_certificate": True},
    )
    assert verify.status_code == 400
    assert "Amazon SNS host" in verify.json()["detail"]


def test_fetch_certificate_is_only_for_sns(client: httpx.Client, bin_id: str) -> None:
    response = client.post(f"/b/{bin_id}", content=b"{}", headers={"X-Hub-Signature-256": "sha256=00"})
    verify = client.post(
        f"/api/bins/{bin_id}/requests/{response.headers['x-inspector-request-id']}/verify",
        json={"provider": "github", "secret": "x", "fetch_certificate": True},
    )
    assert verify.status_code == 400
    assert "aws-sns" in verify.json()["detail"]


def test_verify_panel_says_why_it_will_not_fetch(client: httpx.Client, bin_id: str) -> None:
    fields = {**notification(), "SigningCertURL": "https://attacker.example/cert.pem"}
    response = client.post(
        f"/b/{bin_id}", content=json.dumps(fields), headers={"x-amz-sns-message-type": "Notification"}
    )
    html = client.post(
        f"/bins/{bin_id}/requests/{response.headers['x-inspector-request-id']}/verify",
        data={"provider": "auto", "secret": "", "fetch_certificate": "on"},
        headers={"HX-Request": "true"},
    ).text
    assert "is not an https URL of a .pem file on an Amazon SNS host" in html
