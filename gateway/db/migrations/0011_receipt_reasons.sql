-- 0011: every final state has a reason, receipt-driven ones too.
--
-- A message settled by its delivery receipt (delivered, undeliverable, failed,
-- expired or unknown at the carrier) now carries reason 'receipt' in
-- gateway.messages, as its event always did; the carrier's code stays in
-- `code`. Messages settled that way before this version get it now.
UPDATE gateway.messages SET reason = 'receipt' WHERE reason IS NULL AND state <> 'submitted';
