-- 0037: the advertising fatigue cap counts what a recipient receives: an LMS or
-- MMS is one message, an SMS one per segment (the route's Connector.cost).
ALTER TABLE gateway.ad_sends ADD COLUMN units smallint NOT NULL DEFAULT 1;
ALTER TABLE gateway.ad_sends ADD CONSTRAINT ad_sends_units_positive CHECK (units >= 1);
