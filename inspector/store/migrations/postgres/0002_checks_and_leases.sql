-- On-arrival signature checks as jobs: made from the captures after each bin's `check_cursor`
-- (bins with a secret), claimed by one worker at a time, like forward jobs.
ALTER TABLE bins ADD COLUMN check_cursor bigint NOT NULL DEFAULT 0;
-- A bin remembering secrets already had its earlier captures checked (or never will): start now.
UPDATE bins SET check_cursor = COALESCE((SELECT max(id) FROM requests WHERE requests.bin_id = bins.id), 0);

CREATE TABLE check_jobs (
    request_id bigint PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    bin_id text NOT NULL,
    claimed_until timestamptz
);

-- Named leases: background work that one process at a time does (the sweeper).
CREATE TABLE leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    until timestamptz NOT NULL
);
