"""Group commit: jobs that arrive while a group is being stored go together in the next."""

import asyncio
import threading
from collections.abc import Sequence

import pytest

from app.group_commit import GroupCommit


class Store:
    """A store that records its groups; the first group waits until ``release`` is set, so
    that the test decides which jobs arrive while it runs."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.running = threading.Event()
        self.release = threading.Event()

    def __call__(self, jobs: Sequence[int]) -> list[str | Exception]:
        self.groups.append(list(jobs))
        if len(self.groups) == 1:
            self.running.set()
            assert self.release.wait(10), "the test never released the first group"
        return [ValueError(f"job {j}") if j < 0 else f"stored {j}" for j in jobs]


async def _start_first(commit: GroupCommit[int, str], store: Store) -> "asyncio.Task[str]":
    first = asyncio.create_task(commit.submit(1))
    assert await asyncio.to_thread(store.running.wait, 10)
    return first


async def test_jobs_arriving_while_a_group_is_stored_form_the_next_group() -> None:
    store = Store()
    commit: GroupCommit[int, str] = GroupCommit(store)
    first = await _start_first(commit, store)
    later = [asyncio.create_task(commit.submit(j)) for j in (2, -3, 4)]
    await asyncio.sleep(0)  # each later job is queued behind the running group
    store.release.set()
    assert await first == "stored 1"
    got = await asyncio.gather(*later, return_exceptions=True)
    assert got[0] == "stored 2" and got[2] == "stored 4"
    assert isinstance(got[1], ValueError) and str(got[1]) == "job -3"  # its own error only
    assert store.groups == [[1], [2, -3, 4]]


async def test_a_lone_job_is_a_group_of_one() -> None:
    groups: list[list[int]] = []

    def store(jobs: Sequence[int]) -> list[str | Exception]:
        groups.append(list(jobs))
        return [f"stored {j}" for j in jobs]

    commit: GroupCommit[int, str] = GroupCommit(store)
    assert [await commit.submit(1), await commit.submit(2)] == ["stored 1", "stored 2"]
    assert groups == [[1], [2]]


@pytest.mark.parametrize(
    ("caps", "groups"),
    [
        ({"max_jobs": 2}, [[1], [2, 3], [4, 5], [6]]),
        # Job j weighs 5 j: 10 + 15 fit in 25, 20 + 25 do not, 30 alone is over but goes.
        ({"max_size": 25}, [[1], [2, 3], [4], [5], [6]]),
    ],
)
async def test_a_group_stops_at_its_caps(caps: dict[str, int], groups: list[list[int]]) -> None:
    store = Store()
    commit: GroupCommit[int, str] = GroupCommit(store, size=lambda job: 5 * job, **caps)
    first = await _start_first(commit, store)
    later = [asyncio.create_task(commit.submit(j)) for j in range(2, 7)]
    await asyncio.sleep(0)
    store.release.set()
    assert await asyncio.gather(first, *later) == [f"stored {j}" for j in range(1, 7)]
    assert store.groups == groups


async def test_a_failing_store_fails_each_job_of_its_group_and_the_next_group_runs() -> None:
    calls: list[list[int]] = []

    def store(jobs: Sequence[int]) -> list[str | Exception]:
        calls.append(list(jobs))
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return [f"stored {j}" for j in jobs]

    commit: GroupCommit[int, str] = GroupCommit(store)
    with pytest.raises(RuntimeError, match="went away"):
        await commit.submit(1)
    assert await commit.submit(2) == "stored 2"


async def test_a_request_that_gives_up_does_not_stop_the_others() -> None:
    store = Store()
    commit: GroupCommit[int, str] = GroupCommit(store)
    first = await _start_first(commit, store)
    gone = asyncio.create_task(commit.submit(2))
    kept = asyncio.create_task(commit.submit(3))
    await asyncio.sleep(0)
    gone.cancel()  # the client went away while its job waited
    store.release.set()
    assert (await first, await kept) == ("stored 1", "stored 3")
    assert gone.cancelled()
    assert store.groups == [[1], [2, 3]]  # stored all the same (a retry is a replay)


async def test_a_store_that_answers_the_wrong_number_of_jobs_fails_them_all() -> None:
    """No job may wait for ever, nor take another job's answer."""

    def store(jobs: Sequence[int]) -> list[str | Exception]:
        outcomes: list[str | Exception] = [f"stored {j}" for j in jobs]
        return outcomes[:-1]

    commit: GroupCommit[int, str] = GroupCommit(store)
    with pytest.raises(RuntimeError, match="0 outcomes for 1 jobs"):
        await commit.submit(1)
