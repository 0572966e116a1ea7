"""The analysis schedule: runs coalesce while one is busy; positions stored meanwhile stay due."""

from __future__ import annotations

from supplyline.watch.schedule import Schedule


def test_positions_stored_during_a_run_wait_for_the_next_one() -> None:
    s = Schedule(every_s=3600, after_positions=100)
    s.add(60)
    assert not s.due()
    s.add(60)
    assert s.due()
    taken = s.take()
    assert taken == 120 and s.busy
    s.add(50)  # stored while the run works: counted, not queued as a run of its own
    s.add(70)
    assert s.coalesced == 2
    s.done(taken)
    assert not s.busy and s.runs == 1 and s.new_positions == 120
    assert s.due()  # the next run starts at once: 120 >= 100
    s.done(s.take())
    assert s.new_positions == 0 and not s.due() and s.runs == 2


def test_final_run_is_due_with_any_new_position() -> None:
    s = Schedule(every_s=3600, after_positions=10**6)
    assert not s.due(final=True)
    s.add(1)
    assert not s.due() and s.due(final=True)
