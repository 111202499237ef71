"""``core.web.in_thread``: the request's synchronous work in a worker thread, with the
caller's context variables, its errors raised to the caller, and a cancelled caller held
until the thread is done (its unit of work must not be closed under the thread)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from propolis.core.web import in_thread
from tests.harness import run_in_own_loop

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who")


def test_the_call_runs_in_another_thread_with_the_callers_context() -> None:
    async def scenario() -> tuple[str, bool]:
        WHO.set("analyst")
        here = threading.get_ident()
        return await in_thread(lambda: (WHO.get(), threading.get_ident() != here))

    assert run_in_own_loop(scenario()) == ("analyst", True)


def test_an_error_of_the_call_reaches_the_caller() -> None:
    def fails() -> None:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        run_in_own_loop(in_thread(fails))


def test_a_cancelled_caller_waits_for_the_call_to_end() -> None:
    ended: list[float] = []

    def slow() -> None:
        time.sleep(0.5)
        ended.append(time.monotonic())

    async def scenario() -> float:
        task = asyncio.create_task(in_thread(slow))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic()

    released = run_in_own_loop(scenario())
    assert ended and ended[0] <= released  # not let go before the thread was done
