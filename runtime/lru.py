"""One bounded, thread-safe least-recently-used map, for every cache of the runtime.

Caches here are keyed by what fully determines their value (a definition's content hash, say),
so a new version is a new key and nothing needs invalidating; the bound keeps memory flat
however many versions, answers or pages pass through a long-lived worker.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most ``size`` items; reading one makes it the last to go."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError("an LRU holds at least one item")
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: K, value: V) -> V:
        """Keep ``value`` under ``key``, unless another thread kept one first: the one kept is
        returned (so two threads that built the same thing at once end up sharing one)."""
        with self._lock:
            kept = self._items.setdefault(key, value)
            self._keep_last(key)
            return kept

    def replace(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key``, whatever was there."""
        with self._lock:
            self._items[key] = value
            self._keep_last(key)

    def _keep_last(self, key: K) -> None:
        """``key`` becomes the last to go; the first go while over the size (lock held)."""
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def pop(self, key: K) -> V | None:
        with self._lock:
            return self._items.pop(key, None)

    def values(self) -> list[V]:
        with self._lock:
            return list(self._items.values())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
