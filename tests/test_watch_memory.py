"""The watch's allocator settings (watch.memory): Arrow on the system allocator, glibc arenas capped, an
explicit environment setting respected."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from supplyline.watch.memory import release_free_memory, settle_allocators


@pytest.fixture
def arrow_pool() -> Iterator[None]:
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


def test_settle_puts_arrow_on_the_system_allocator(arrow_pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    done = settle_allocators()
    assert done["arrow_pool"] == "system" and pa.default_memory_pool().backend_name == "system"
    assert done.get("malloc_arena_max") == "2"  # glibc here
    release_free_memory()  # returns; nothing to assert but that it does not fail


def test_settle_respects_the_environment(arrow_pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    pool = pa.default_memory_pool().backend_name
    assert settle_allocators() == {}
    assert pa.default_memory_pool().backend_name == pool != "system"
