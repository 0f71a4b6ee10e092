-- Secrets a bin remembers, one per provider, so each new capture is checked on arrival.
CREATE TABLE bin_secrets (
    bin_id TEXT NOT NULL REFERENCES bins (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    secret TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (bin_id, provider)
);

-- The verdict of the check made when a request arrived.
CREATE TABLE signature_checks (
    request_id INTEGER PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    valid INTEGER NOT NULL,
    reason TEXT NOT NULL,
    checked_at TEXT NOT NULL
);
