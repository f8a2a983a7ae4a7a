"""One way for a test to wait for something another thread, process, server or browser does: ``wait_until``.

A test that waits asserts the state it waited for, never a state on the way to it; and it waits with a deadline
and says what it waited for, so a slow machine gives a slow test, and a defect a message that names it."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T], *, what: str, timeout: float = 60.0, interval: float = 0.05) -> T:
    """Calls ``check`` until it returns something true, and returns that; after ``timeout`` seconds fails with
    ``what`` and the last value seen. ``check`` is asked once more at the deadline, so a slow last step counts."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; last seen: {value!r}")
        time.sleep(interval)
