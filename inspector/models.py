"""The records Webhook Inspector keeps: bins and the requests they captured."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from inspector.responses import ResponseSettings

Header = tuple[str, str]


# Ids are signed 64-bit integers in every database the store runs on: a larger one names nothing.
MAX_ID = 2**63 - 1


class Bin(msgspec.Struct, frozen=True, kw_only=True):
    """A throwaway endpoint that captures whatever is sent to /b/{id}."""

    id: str
    created_at: datetime
    expires_at: datetime
    # Where each capture is delivered in the background (auto-forward); empty for none.
    forward_targets: list[str] = msgspec.field(default_factory=list)
    # How the bin answers senders; None for the built-in answer.
    response: ResponseSettings | None = None
    # The most requests it keeps (the oldest go first); None for the server's default.
    max_requests: int | None = None
    # Private bins are read only with the owner's token (or a share token, for reading).
    private: bool = False
    # SHA-256 hex of the tokens, never the tokens themselves.
    owner_token_hash: str | None = None
    share_token_hash: str | None = None
    creator_ip: str | None = None
    # Declared by the operator in the bins file: recreated at start-up, never expires.
    fixed: bool = False
    # Whether it remembers a provider secret (each capture is then checked on arrival); from the store.
    has_secrets: bool = False


class BinChanges(msgspec.Struct, frozen=True, kw_only=True):
    """Settings to change on a bin; fields left UNSET stay as they are (two edits never undo each other)."""

    expires_at: datetime | msgspec.UnsetType = msgspec.UNSET
    response: ResponseSettings | msgspec.UnsetType | None = msgspec.UNSET
    max_requests: int | msgspec.UnsetType | None = msgspec.UNSET
    private: bool | msgspec.UnsetType = msgspec.UNSET
    owner_token_hash: str | msgspec.UnsetType | None = msgspec.UNSET
    share_token_hash: str | msgspec.UnsetType | None = msgspec.UNSET
    fixed: bool | msgspec.UnsetType = msgspec.UNSET

    def fields(self) -> dict[str, Any]:
        """The fields that are set, by name."""
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not msgspec.UNSET
        }


class ForwardStatus(msgspec.Struct, frozen=True, kw_only=True):
    """How a capture's auto-forward deliveries stand, over all of its bin's targets."""

    targets: int
    delivered: int
    failed: int

    @property
    def pending(self) -> int:
        return self.targets - self.delivered - self.failed


class ForwardJob(msgspec.Struct, frozen=True, kw_only=True):
    """One auto-forward delivery of one capture to one target: pending, delivered or failed."""

    request_id: int
    bin_id: str
    target: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None = None
    last_error: str | None = None
    # The forwarding chain this job belongs to when its capture is an original (not itself a forward).
    origin: str | None = None
    # Set while one delivery holds the job: until then no other worker is handed it.
    claimed_until: datetime | None = None


class CheckJob(msgspec.Struct, frozen=True, kw_only=True):
    """An on-arrival signature check of one capture, claimed by one worker at a time."""

    request_id: int
    bin_id: str
    claimed_until: datetime | None = None


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt to send a capture somewhere, by a user's replay or by auto-forward."""

    request_id: int
    bin_id: str
    kind: str
    target: str
    started_at: datetime
    status: int | None
    error: str | None
    duration_ms: float
    # The full record (request actually sent, response, redirects) as inspector.replay.DeliveryResult JSON.
    result: bytes
    id: int = 0


class SignatureCheck(msgspec.Struct, frozen=True, kw_only=True):
    """The verdict recorded when a request arrived at a bin that remembers a secret for its provider."""

    provider: str
    valid: bool
    reason: str


class BinSecret(msgspec.Struct, frozen=True, kw_only=True):
    """A provider secret a bin remembers, with the options its check needs (a public URL, say)."""

    provider: str
    secret: str
    options: dict[str, Any] = msgspec.field(default_factory=dict)
    updated_at: datetime

    @property
    def hint(self) -> str:
        """Enough of the secret to tell two apart, never enough to use it."""
        tail = self.secret[-4:] if len(self.secret) >= 12 else ""
        return f"{len(self.secret)} characters" + (f", ending …{tail}" if tail else "")


class RequestSummary(msgspec.Struct, frozen=True, kw_only=True):
    """What a list of captured requests shows: everything but the headers and body bytes."""

    id: int
    bin_id: str
    method: str
    path: str
    sub_path: str
    query: str
    content_type: str | None
    body_size: int
    client_ip: str | None
    received_at: datetime
    rejected: str | None = None
    signature: SignatureCheck | None = None
    forwarding: ForwardStatus | None = None
    # What the capture says about itself (inspector/detection.py), and the earlier capture it repeats.
    provider: str | None = None
    event: str | None = None
    duplicate_of: int | None = None


class CapturedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One request exactly as a sender made it.

    Text fields hold the bytes that came over the wire decoded as latin-1, which maps
    every byte to one character and back, so nothing is lost or re-encoded.
    """

    bin_id: str
    method: str
    # The path as sent, percent-encoding and repeated slashes kept, without the query.
    path: str
    # The part of `path` after /b/{bin_id}: "" or a string starting with "/".
    sub_path: str
    # The raw query string: order, duplicates and encoding kept.
    query: str
    # In arrival order with duplicates, names as the sender wrote them (lowercase in captures made
    # before names kept their case).
    headers: list[Header]
    body: bytes
    # len(body), or for a rejected request the size the sender declared (None if unknown).
    body_size: int | None
    body_sha256: str | None
    client_ip: str | None
    client_port: int | None
    host: str
    scheme: str
    http_version: str
    received_at: datetime
    # Why the request was refused (say, its body was over the limit); None when captured.
    rejected: str | None = None
    # Assigned by the store in commit order; 0 until stored.
    id: int = 0
    # Told by the store from the headers and body when it stores the capture (inspector/detection.py):
    # the provider, its event type, and the earliest earlier capture of the bin with the same delivery id.
    provider: str | None = None
    event: str | None = None
    duplicate_of: int | None = None

    def header(self, name: str) -> str | None:
        """The first value of a header, matched case-insensitively."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        """Every value of a header, in arrival order."""
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    @property
    def content_type(self) -> str | None:
        return self.header("content-type")

    @property
    def url(self) -> str:
        """The full URL the sender used."""
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{self.host}{self.path}{query}"

    def summary(self) -> RequestSummary:
        return RequestSummary(
            id=self.id,
            bin_id=self.bin_id,
            method=self.method,
            path=self.path,
            sub_path=self.sub_path,
            query=self.query,
            content_type=self.content_type,
            body_size=self.body_size or 0,
            client_ip=self.client_ip,
            received_at=self.received_at,
            rejected=self.rejected,
            provider=self.provider,
            event=self.event,
            duplicate_of=self.duplicate_of,
        )
