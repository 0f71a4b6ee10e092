-- Auto-forward: where a bin sends each capture, and how far its forwarding has got. Jobs are made
-- from the captures after `forward_cursor`, so a crash between a capture and its jobs loses nothing.
ALTER TABLE bins ADD COLUMN forward_targets TEXT NOT NULL DEFAULT '[]';
ALTER TABLE bins ADD COLUMN forward_cursor INTEGER NOT NULL DEFAULT 0;

-- One auto-forward delivery of one capture to one target, retried with backoff until done.
CREATE TABLE forward_jobs (
    request_id INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    bin_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    PRIMARY KEY (request_id, target)
);
CREATE INDEX forward_jobs_due ON forward_jobs (state, next_attempt_at);

-- Every attempt to send a capture somewhere, by replay or auto-forward: what was sent, what came back.
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    bin_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    started_at TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms REAL NOT NULL,
    result BLOB NOT NULL
);
CREATE INDEX attempts_by_request ON attempts (request_id, id);
