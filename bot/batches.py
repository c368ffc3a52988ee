"""Cutting long lists into batches: jobs commit every batch so that no request waits long behind
a job's write lock, and IN lists stay well under the databases' parameter limits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

BATCH_SIZE = 1000


def chunked(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
