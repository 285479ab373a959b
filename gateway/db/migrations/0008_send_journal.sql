-- 0008: a journal of what each run may hand to a carrier.
--
-- Before a message goes to a connector, its id is written here (a batch of ids
-- per row, in the same group commit as other write-back) and committed; the
-- row is deleted once every id in it has its outcome stored. After a crash,
-- the dead run's leased rows whose ids are in its journal may have reached the
-- carrier and are flagged as possible duplicates; the others were never
-- handed over and are queued again unflagged, their attempt not counted.
CREATE TABLE gateway.send_journal (
    owner text        NOT NULL,  -- the run (gateway.instances.name)
    seq   bigint      NOT NULL,  -- per run
    ids   bigint[]    NOT NULL,
    at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, seq)
);
COMMENT ON TABLE gateway.send_journal IS
    'Message ids a run may have handed to a carrier and whose outcome it has not stored yet (crash recovery flags only these).';

-- Where a run lives, precisely enough to tell that an earlier run on the same
-- machine is dead: the kernel's boot id and the run's pid namespace. A new run
-- that finds an earlier one in the same place whose pid is gone (or is its own
-- pid: reused after a restart) gives that run's work back at once instead of
-- waiting for its lease to run out.
ALTER TABLE gateway.instances ADD COLUMN place text;
