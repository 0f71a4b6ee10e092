-- Bin settings: its answers, how much it keeps, who may read it, and who made it.
ALTER TABLE bins ADD COLUMN response TEXT;
ALTER TABLE bins ADD COLUMN max_requests INTEGER;
ALTER TABLE bins ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bins ADD COLUMN owner_token_hash TEXT;
ALTER TABLE bins ADD COLUMN share_token_hash TEXT;
ALTER TABLE bins ADD COLUMN creator_ip TEXT;
ALTER TABLE bins ADD COLUMN fixed INTEGER NOT NULL DEFAULT 0;

CREATE INDEX bins_by_expiry ON bins (expires_at);
CREATE INDEX bins_by_creator ON bins (creator_ip);
