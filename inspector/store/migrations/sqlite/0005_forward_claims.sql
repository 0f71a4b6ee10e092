-- Auto-forward jobs are claimed for a while before each delivery, in the statement that picks
-- them, so a job is handed to one delivery at a time however many workers there are; a claim
-- left behind by a crash expires and the job is delivered again.
ALTER TABLE forward_jobs ADD COLUMN claimed_until TEXT;
-- The chain an original capture starts when it is forwarded: the jobs of one capture share it.
-- Jobs queued before this migration get one each.
ALTER TABLE forward_jobs ADD COLUMN origin TEXT;
UPDATE forward_jobs SET origin = lower(hex(randomblob(16)));

-- How many forwards each chain has caused, so bins forwarding to each other stop at a budget.
CREATE TABLE forward_origins (
    origin TEXT PRIMARY KEY,
    deliveries INTEGER NOT NULL,
    last_at TEXT NOT NULL
);
CREATE INDEX forward_origins_by_age ON forward_origins (last_at);
