"""PostgreSQL access shared by every package: the pool, migrations, the named-query loader.

Nothing here knows about messages: the queue's store, the rate limiter's store,
the policy's guards and the Kakao template store each load their own
``sql/queries.sql`` with :class:`Queries` and run it on a pool made by
:func:`create_pool`.
"""

from gateway.db.migrate import Migration, available_migrations, migrate, pending_migrations
from gateway.db.pool import connect, create_pool, is_connection_error, start_embedded
from gateway.db.queries import Queries, parse_queries

__all__ = [
    "Migration",
    "Queries",
    "available_migrations",
    "connect",
    "create_pool",
    "is_connection_error",
    "migrate",
    "parse_queries",
    "pending_migrations",
    "start_embedded",
]
