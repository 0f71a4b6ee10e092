-- Bins and the requests they captured.
CREATE TABLE bins (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- AUTOINCREMENT: an id is never reused after a delete, so a client that has seen id N
-- can always ask for "everything after N".
CREATE TABLE requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bin_id TEXT NOT NULL REFERENCES bins (id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    sub_path TEXT NOT NULL,
    query TEXT NOT NULL,
    headers TEXT NOT NULL,
    content_type TEXT,
    body_size INTEGER,
    body_sha256 TEXT,
    client_ip TEXT,
    client_port INTEGER,
    host TEXT NOT NULL,
    scheme TEXT NOT NULL,
    http_version TEXT NOT NULL,
    received_at TEXT NOT NULL,
    rejected TEXT,
    -- Last, so listing rows never reads the body's overflow pages.
    body BLOB NOT NULL
);

CREATE INDEX requests_by_bin ON requests (bin_id, id);
