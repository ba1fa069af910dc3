"""runtime.lru: the one bounded cache the runtime's caches share."""

from __future__ import annotations

import threading

import pytest

from runtime.lru import LRU


def test_it_keeps_at_most_its_size_dropping_the_least_recently_used() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)


def test_put_keeps_the_first_value_and_replace_the_last() -> None:
    cache: LRU[str, list[int]] = LRU(4)
    first, second = [1], [2]
    assert cache.put("k", first) is first
    assert cache.put("k", second) is first  # built twice at once: both callers share one
    cache.replace("k", second)
    assert cache.get("k") is second
    assert cache.pop("k") is second and cache.pop("k") is None
    cache.put("x", first)
    cache.clear()
    assert len(cache) == 0 and cache.values() == []


def test_a_cache_holds_at_least_one_item() -> None:
    with pytest.raises(ValueError):
        LRU(0)


def test_threads_never_push_it_past_its_size() -> None:
    cache: LRU[int, int] = LRU(50)

    def work(offset: int) -> None:
        for i in range(2000):
            cache.put(offset + i, i)
            cache.get(offset + i // 2)

    threads = [threading.Thread(target=work, args=(n * 10_000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 50
