-- What each capture says about itself (inspector/detection.py), written with the capture: the provider,
-- the event type, and the sender's delivery id, which a retry repeats. Captures stored before this
-- migration stay unlabelled.
ALTER TABLE requests ADD COLUMN provider text;
ALTER TABLE requests ADD COLUMN event text;
ALTER TABLE requests ADD COLUMN delivery_id text;
-- "Duplicate of #N" is the bin's earliest capture with the same delivery id: one index probe per row.
CREATE INDEX requests_by_delivery ON requests (bin_id, delivery_id, id) WHERE delivery_id IS NOT NULL;
