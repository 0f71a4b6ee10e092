"""Table rows to records, for every SQL adapter: the same columns in the same order, whatever the database.

SQLite hands back timestamps as ISO text and booleans as integers, PostgreSQL as datetimes and
booleans; the functions here take either, so both adapters share one mapping.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from inspector.detection import stored_labels
from inspector.models import (
    Attempt,
    Bin,
    BinSecret,
    CapturedRequest,
    CheckJob,
    ForwardJob,
    ForwardStatus,
    Header,
    RequestSummary,
    SignatureCheck,
)
from inspector.responses import ResponseSettings

BIN_COLUMNS = (
    "id, created_at, expires_at, forward_targets, response, max_requests, private,"
    " owner_token_hash, share_token_hash, creator_ip, fixed, forward_cursor"
)
# A bin as the rest of the code sees it: its columns, and whether it remembers a secret.
BIN_SELECT = (
    f"SELECT {BIN_COLUMNS}, EXISTS (SELECT 1 FROM bin_secrets WHERE bin_secrets.bin_id = bins.id) FROM bins"
)
REQUEST_COLUMNS = (
    "bin_id, method, path, sub_path, query, headers, content_type, body_size, body_sha256,"
    " client_ip, client_port, host, scheme, http_version, received_at, rejected, body,"
    " provider, event, delivery_id"
)


def duplicate_of(table: str) -> str:
    """The bin's earliest capture before this one with the same delivery id: an index probe on
    requests_by_delivery (bin_id, delivery_id, id)."""
    return (
        f"(SELECT MIN(d.id) FROM requests AS d WHERE d.bin_id = {table}.bin_id"
        f" AND d.delivery_id = {table}.delivery_id AND d.id < {table}.id)"
    )


# A capture in full: its columns and what it duplicates.
REQUEST_SELECT = f"SELECT id, {REQUEST_COLUMNS}, {duplicate_of('requests')} FROM requests"
# A summary is the request's own columns plus the verdict of its on-arrival signature check, if any,
# and how its forwards stand.
SUMMARY_COLUMNS = (
    "r.id, r.bin_id, r.method, r.path, r.sub_path, r.query, r.content_type, r.body_size, r.client_ip,"
    " r.received_at, r.rejected, c.provider, c.valid, c.reason,"
    " (SELECT COUNT(*) FROM forward_jobs AS f WHERE f.request_id = r.id),"
    " (SELECT COUNT(*) FROM forward_jobs AS f WHERE f.request_id = r.id AND f.state = 'delivered'),"
    " (SELECT COUNT(*) FROM forward_jobs AS f WHERE f.request_id = r.id AND f.state = 'failed'),"
    f" r.provider, r.event, {duplicate_of('r')}"
)
# The columns of a summary, which find_select extends.
_SUMMARY_WIDTH = 20
SUMMARY_FROM = " FROM requests AS r LEFT JOIN signature_checks AS c ON c.request_id = r.id"
SUMMARY_SELECT = f"SELECT {SUMMARY_COLUMNS}{SUMMARY_FROM}"


def find_select(body: str) -> str:
    """A summary plus what filters read of the record; `body` is the body column, or an empty
    literal when no filter reads it (so a filtered scan does not load bodies it would not look at)."""
    return (
        f"SELECT {SUMMARY_COLUMNS}, r.headers, r.body_sha256, r.client_port, r.host, r.scheme,"
        f" r.http_version, {body}{SUMMARY_FROM}"
    )


JOB_COLUMNS = (
    "request_id, bin_id, target, state, attempts, next_attempt_at, last_status, last_error,"
    " origin, claimed_until"
)
SECRET_COLUMNS = "provider, secret, options, updated_at"  # noqa: S105 (column names)
ATTEMPT_COLUMNS = "id, request_id, bin_id, kind, target, started_at, status, error, duration_ms, result"

_headers_decoder = msgspec.json.Decoder(list[tuple[str, str]])
_response_decoder = msgspec.json.Decoder(ResponseSettings)


def timestamp(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def encode_response(response: ResponseSettings | None) -> str | None:
    return msgspec.json.encode(response).decode() if response is not None else None


def bin_from_row(row: Any) -> Bin:
    """A row of BIN_SELECT."""
    return Bin(
        id=row[0],
        created_at=timestamp(row[1]),
        expires_at=timestamp(row[2]),
        forward_targets=msgspec.json.decode(row[3]),
        response=_response_decoder.decode(row[4]) if row[4] else None,
        max_requests=row[5],
        private=bool(row[6]),
        owner_token_hash=row[7],
        share_token_hash=row[8],
        creator_ip=row[9],
        fixed=bool(row[10]),
        has_secrets=bool(row[12]),
    )


def secret_from_row(row: Any) -> BinSecret:
    return BinSecret(
        provider=row[0], secret=row[1], options=msgspec.json.decode(row[2]), updated_at=timestamp(row[3])
    )


def job_from_row(row: Any) -> ForwardJob:
    return ForwardJob(
        request_id=row[0],
        bin_id=row[1],
        target=row[2],
        state=row[3],
        attempts=row[4],
        next_attempt_at=timestamp(row[5]),
        last_status=row[6],
        last_error=row[7],
        origin=row[8],
        claimed_until=timestamp(row[9]) if row[9] else None,
    )


def attempt_from_row(row: Any) -> Attempt:
    """A row of ATTEMPT_COLUMNS."""
    return Attempt(
        id=row[0],
        request_id=row[1],
        bin_id=row[2],
        kind=row[3],
        target=row[4],
        started_at=timestamp(row[5]),
        status=row[6],
        error=row[7],
        duration_ms=row[8],
        result=bytes(row[9]),
    )


def check_job_from_row(row: Any) -> CheckJob:
    return CheckJob(request_id=row[0], bin_id=row[1], claimed_until=timestamp(row[2]) if row[2] else None)


def labels(request: CapturedRequest) -> tuple[str | None, str | None, str | None]:
    """The provider, event and delivery id columns of a capture about to be stored."""
    detected = stored_labels(request.headers, request.body)
    return detected.provider, detected.event, detected.delivery_id


def request_from_row(row: Any) -> CapturedRequest:
    """A row of REQUEST_SELECT."""
    headers: list[Header] = _headers_decoder.decode(row[6])
    return CapturedRequest(
        id=row[0],
        bin_id=row[1],
        method=row[2],
        path=row[3],
        sub_path=row[4],
        query=row[5],
        headers=headers,
        body_size=row[8],
        body_sha256=row[9],
        client_ip=row[10],
        client_port=row[11],
        host=row[12],
        scheme=row[13],
        http_version=row[14],
        received_at=timestamp(row[15]),
        rejected=row[16],
        body=bytes(row[17]),
        provider=row[18],
        event=row[19],
        duplicate_of=row[21],
    )


def summary_from_row(row: Any) -> RequestSummary:
    """A row of SUMMARY_SELECT."""
    return RequestSummary(
        id=row[0],
        bin_id=row[1],
        method=row[2],
        path=row[3],
        sub_path=row[4],
        query=row[5],
        content_type=row[6],
        body_size=row[7] or 0,
        client_ip=row[8],
        received_at=timestamp(row[9]),
        rejected=row[10],
        signature=SignatureCheck(provider=row[11], valid=bool(row[12]), reason=row[13]) if row[11] else None,
        forwarding=ForwardStatus(targets=row[14], delivered=row[15], failed=row[16]) if row[14] else None,
        provider=row[17],
        event=row[18],
        duplicate_of=row[19],
    )


def found_from_row(row: Any) -> tuple[CapturedRequest, RequestSummary]:
    """A row of `find_select`: the record (its body only if it was read) and its summary."""
    summary = summary_from_row(row)
    extra = row[_SUMMARY_WIDTH:]
    captured = CapturedRequest(
        id=row[0],
        bin_id=row[1],
        method=row[2],
        path=row[3],
        sub_path=row[4],
        query=row[5],
        headers=_headers_decoder.decode(extra[0]),
        body=bytes(extra[6]),
        body_size=row[7],
        body_sha256=extra[1],
        client_ip=row[8],
        client_port=extra[2],
        host=extra[3],
        scheme=extra[4],
        http_version=extra[5],
        received_at=summary.received_at,
        rejected=row[10],
        provider=summary.provider,
        event=summary.event,
        duplicate_of=summary.duplicate_of,
    )
    return captured, summary
