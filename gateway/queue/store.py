"""The queue's store: every statement the engine and the writer run (see sql/queries.sql)."""

from __future__ import annotations

from gateway.db.queries import Queries

Q = Queries("gateway.queue")
q = Q.__getitem__
