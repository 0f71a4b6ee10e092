"""Telegram: no signature, the secret_token given to setWebhook comes back in a header (Bot API docs).

https://core.telegram.org/bots/api#setwebhook: "a secret token to be sent in a header
X-Telegram-Bot-Api-Secret-Token in every webhook request, 1-256 characters. Only characters A-Z, a-z,
0-9, _ and - are allowed." There is nothing to sign, so the tests send the token as Telegram does.
"""

from __future__ import annotations

import pytest

from inspector.signatures import SignatureConfigError, detect, telegram, verify

from .helpers import NOW, NOW_TS, from_signed, make_request, tamper

SECRET = "My_Secret-Token_42"
BODY = b'{"update_id":10000,"message":{"message_id":1365,"chat":{"id":1111111},"text":"/start"}}'
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def telegram_request(token: str = SECRET, body: bytes = BODY) -> object:
    return make_request(body, [(HEADER, token)], content_type="application/json")


def test_matching_token_is_valid() -> None:
    verdict = telegram.verify(telegram_request(), SECRET, NOW)
    assert verdict.valid, verdict.reason
    assert verdict.header == HEADER
    assert verdict.received == f"the token in {HEADER} (18 characters, ending '42')"


def test_verdict_never_repeats_the_secret_it_was_given() -> None:
    verdict = telegram.verify(telegram_request("someone-else"), SECRET, NOW)
    assert not verdict.valid
    assert SECRET not in repr(verdict)
    assert "someone-else" not in repr(verdict)
    assert "18 characters" in verdict.reason


def test_tampered_body_is_not_covered() -> None:
    # Telegram signs nothing: a changed body keeps the token valid, and the algorithm line says so.
    verdict = telegram.verify(telegram_request(body=tamper(BODY)), SECRET, NOW)
    assert verdict.valid
    assert "no signature" in (verdict.algorithm or "")


def test_wrong_secret_fails_with_likely_causes() -> None:
    assert not telegram.verify(telegram_request(), "Other_Token", NOW).valid
    padded = telegram.verify(telegram_request(), SECRET + " ", NOW)
    assert any("whitespace" in hint for hint in padded.hints)
    cased = telegram.verify(telegram_request(), SECRET.lower(), NOW)
    assert any("letter case" in hint for hint in cased.hints)
    bot_token = telegram.verify(telegram_request(), "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", NOW)
    assert any("bot token" in hint for hint in bot_token.hints)


def test_missing_header_says_when_telegram_sends_it() -> None:
    verdict = telegram.verify(make_request(BODY), SECRET, NOW)
    assert not verdict.valid
    assert any("secret_token" in hint for hint in verdict.hints)


def test_auto_detection() -> None:
    assert detect(telegram_request()) == "telegram"
    assert verify("auto", telegram_request(), SECRET, NOW).valid


def test_sign_refuses_tokens_telegram_would_refuse() -> None:
    assert telegram.verify(from_signed(telegram.sign(BODY, SECRET, NOW_TS)), SECRET, NOW).valid
    with pytest.raises(SignatureConfigError, match="A-Z"):
        telegram.sign(BODY, "has spaces", NOW_TS)
