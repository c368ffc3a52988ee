"""Cutting long lists into batches: jobs commit every batch so that no request waits long behind
a job's write lock, and IN lists stay well under the databases' parameter limits.

How long a batch may be depends on the database (``write_batch_size``):

- **SQLite** has one write lock for the whole file. While a job's transaction is open, a
  request that writes (any button, any form) waits for it. Batches of ``BATCH_SIZE`` rows keep each
  transaction to a few tens of milliseconds, so a request waits at most that long.
- **PostgreSQL** locks rows, not the database, and readers never wait for writers. The escalation
  job only inserts rows that nobody else writes: claims, history entries, touchpoints and outbox
  rows, all under keys of their own. Its foreign keys take ``FOR KEY SHARE`` on the issue and
  project rows, and an ordinary ``UPDATE`` of an issue (``FOR NO KEY UPDATE``) does not conflict
  with that. So no request waits for the job however long its transaction is, and a larger batch
  only saves round trips. ``POSTGRESQL_BATCH_SIZE`` still bounds one transaction: a run that dies
  loses at most one batch, which the next run finds again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from storage.db import Database

T = TypeVar("T")

BATCH_SIZE = 1000
POSTGRESQL_BATCH_SIZE = 25_000


def chunked(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_batch_size(database: Database) -> int:
    """How many rows a job writes per committed batch on this database (see the module's notes)."""
    return POSTGRESQL_BATCH_SIZE if database.is_postgresql else BATCH_SIZE
