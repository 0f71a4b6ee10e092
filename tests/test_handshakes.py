"""Verification handshakes over real HTTP: each provider's challenge, as its documentation shows it,
gets the answer the documentation expects; the capture is stored all the same."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
import pytest

from inspector.handshakes import recognise
from inspector.models import CapturedRequest

# Slack's Events API documentation, "url_verification" event.
SLACK = {
    "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
    "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    "type": "url_verification",
}
# Zoom's "Validate your webhook endpoint" documentation.
ZOOM = {
    "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
    "event_ts": 1654503849680,
    "event": "endpoint.url_validation",
}
# Twitch's "Responding to a challenge request" documentation.
TWITCH = {
    "challenge": "pogchamp-kappa-360noscope-vohiyo",
    "subscription": {
        "id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4",
        "status": "webhook_callback_verification_pending",
        "type": "channel.follow",
        "version": "2",
    },
}
VERIFY_TOKEN = "meatyhamhock"


def make_request(body: bytes = b"", *, method: str = "POST", query: str = "") -> CapturedRequest:
    return CapturedRequest(
        bin_id="abc123",
        method=method,
        path="/b/abc123",
        sub_path="",
        query=query,
        headers=[],
        body=body,
        body_size=len(body),
        body_sha256=None,
        client_ip=None,
        client_port=None,
        host="x.example",
        scheme="https",
        http_version="1.1",
        received_at=datetime.now(UTC),
    )


def handshaking_bin(client: httpx.Client, **settings: object) -> str:
    bin_id = client.post("/api/bins").json()["id"]
    response = client.put(f"/api/bins/{bin_id}/response", json={"handshakes": True, **settings})
    assert response.status_code == 200, response.text
    return bin_id


def stored(client: httpx.Client, bin_id: str, response: httpx.Response) -> dict:
    request_id = response.headers["x-inspector-request-id"]
    captured = client.get(f"/api/bins/{bin_id}/requests/{request_id}")
    assert captured.status_code == 200
    return captured.json()


def assert_inert_text(response: httpx.Response, text: str) -> None:
    assert response.status_code == 200
    assert response.text == text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]


def test_handshakes_are_off_by_default(client: httpx.Client, bin_id: str) -> None:
    response = client.post(f"/b/{bin_id}", json=SLACK)
    assert response.json()["ok"] is True
    assert client.get(f"/api/bins/{bin_id}/response").json() is None


def test_slack_url_verification_gets_the_challenge_back(client: httpx.Client) -> None:
    bin_id = handshaking_bin(client)
    response = client.post(f"/b/{bin_id}/slack/events", json=SLACK)
    assert_inert_text(response, SLACK["challenge"])
    assert json.loads(stored(client, bin_id, response)["body"]) == SLACK


def test_zoom_url_validation_is_signed_with_the_remembered_secret(client: httpx.Client) -> None:
    bin_id = handshaking_bin(client)
    # Without a Zoom secret the bin cannot answer: it answers as usual and Zoom's validation fails.
    unanswered = client.post(f"/b/{bin_id}/zoom", json=ZOOM)
    assert unanswered.json()["ok"] is True
    secret = "zoom-secret-token-1"
    assert client.put(f"/api/bins/{bin_id}/secrets/zoom", json={"secret": secret}).status_code == 200
    response = client.post(f"/b/{bin_id}/zoom", json=ZOOM)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    token = ZOOM["payload"]["plainToken"]
    expected = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
    assert response.json() == {"plainToken": token, "encryptedToken": expected}
    stored(client, bin_id, response)


def test_meta_hub_challenge_needs_the_verify_token(client: httpx.Client) -> None:
    bin_id = handshaking_bin(client, verify_token=VERIFY_TOKEN)
    # Meta's "Getting started" example: GET with hub.mode, hub.challenge and hub.verify_token.
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN}
    response = client.get(f"/b/{bin_id}/meta", params=query)
    assert_inert_text(response, "1158201444")
    stored(client, bin_id, response)
    wrong = client.get(f"/b/{bin_id}/meta", params={**query, "hub.verify_token": "other"})
    assert wrong.status_code == 403
    assert stored(client, bin_id, wrong)["method"] == "GET"


def test_meta_without_a_verify_token_is_not_answered(client: httpx.Client) -> None:
    bin_id = handshaking_bin(client)
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "x"}
    assert client.get(f"/b/{bin_id}", params=query).json()["ok"] is True


def test_twitch_callback_verification_gets_the_raw_challenge(client: httpx.Client) -> None:
    bin_id = handshaking_bin(client)
    headers = {"Twitch-Eventsub-Message-Type": "webhook_callback_verification"}
    response = client.post(f"/b/{bin_id}/twitch", json=TWITCH, headers=headers)
    assert_inert_text(response, TWITCH["challenge"])
    # The same body as a notification is no challenge.
    notification = client.post(
        f"/b/{bin_id}/twitch", json=TWITCH, headers={"Twitch-Eventsub-Message-Type": "notification"}
    )
    assert notification.json()["ok"] is True


def test_microsoft_graph_validation_token_comes_back_decoded(client: httpx.Client) -> None:
    bin_id = handshaking_bin(client)
    # Graph posts to notificationUrl?validationToken=... and expects the decoded token as text/plain.
    response = client.post(f"/b/{bin_id}/graph?validationToken=Validation%3a+Testing+client+application")
    assert_inert_text(response, "Validation: Testing client application")
    assert (
        stored(client, bin_id, response)["query"]
        == "validationToken=Validation%3a+Testing+client+application"
    )


def test_dropbox_challenge_is_echoed(client: httpx.Client) -> None:
    bin_id = handshaking_bin(client)
    response = client.get(f"/b/{bin_id}/dropbox", params={"challenge": "NmYxMmQzNGM"})
    assert_inert_text(response, "NmYxMmQzNGM")


def test_hostile_challenge_is_answered_inert(client: httpx.Client) -> None:
    bin_id = handshaking_bin(client)
    script = "<script>alert(document.cookie)</script>"
    response = client.get(f"/b/{bin_id}", params={"challenge": script})
    assert_inert_text(response, script)


def test_handshake_comes_before_the_bin_rules(client: httpx.Client) -> None:
    bin_id = handshaking_bin(client, default={"status": 202, "body": "custom"})
    assert client.post(f"/b/{bin_id}", json={"hello": 1}).status_code == 202
    assert client.post(f"/b/{bin_id}", json=SLACK).text == SLACK["challenge"]


def test_request_view_says_the_handshake_was_answered(client: httpx.Client) -> None:
    bin_id = handshaking_bin(client)
    response = client.post(f"/b/{bin_id}", json=SLACK)
    request_id = response.headers["x-inspector-request-id"]
    page = client.get(f"/bins/{bin_id}/requests/{request_id}", headers={"HX-Request": "true"}).text
    assert "Handshake: Slack url_verification, answered the handshake" in page
    assert client.put(f"/api/bins/{bin_id}/response", json={"handshakes": False}).status_code == 200
    page = client.get(f"/bins/{bin_id}/requests/{request_id}", headers={"HX-Request": "true"}).text
    assert "not answered (this bin does not answer handshakes)" in page


def test_response_form_turns_handshakes_on(client: httpx.Client, bin_id: str) -> None:
    form = {"handshakes": "on", "verify_token": VERIFY_TOKEN, "rules": ""}
    response = client.post(f"/bins/{bin_id}/response", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Saved." in response.text
    settings = client.get(f"/api/bins/{bin_id}/response").json()
    assert settings["handshakes"] is True
    assert settings["verify_token"] == VERIFY_TOKEN


@pytest.mark.parametrize("token", ["", "a\nb", "x" * 257])
def test_bad_verify_token_is_400(client: httpx.Client, bin_id: str, token: str) -> None:
    response = client.put(f"/api/bins/{bin_id}/response", json={"handshakes": True, "verify_token": token})
    assert response.status_code == 400
    assert "verify_token" in response.text


def test_only_challenges_are_recognised() -> None:
    assert recognise(make_request(json.dumps(SLACK).encode())) is not None
    assert recognise(make_request(json.dumps({**SLACK, "type": "event_callback"}).encode())) is None
    assert recognise(make_request(b"challenge", method="POST")) is None
    # A Dropbox-style challenge must be a GET; a Graph validationToken a POST.
    assert recognise(make_request(query="challenge=1", method="POST")) is None
    assert recognise(make_request(query="validationToken=1", method="GET")) is None
    assert recognise(make_request(b"x" * 70_000 + json.dumps(SLACK).encode())) is None
