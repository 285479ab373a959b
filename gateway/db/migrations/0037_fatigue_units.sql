-- 0037: the advertising fatigue cap counts what a recipient receives: an LMS or MMS is
-- one message, an SMS one per segment. A send's units are its segments as the
-- connector reported them (SendResult.segments: SMPP and international SMS count
-- parts, a Korean SMS, LMS or MMS counts 1), written with the send by the queue's
-- record_ad_sends; a reservation (a message still being sent) counts 1.
ALTER TABLE gateway.ad_sends ADD COLUMN units smallint NOT NULL DEFAULT 1;
ALTER TABLE gateway.ad_sends ADD CONSTRAINT ad_sends_units_positive CHECK (units >= 1);
