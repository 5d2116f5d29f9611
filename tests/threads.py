"""Real transactions in threads, each on its own database connection."""

import threading
from collections.abc import Callable

from django.db import connection


def in_thread(work: Callable[[], object], errors: list[BaseException]) -> threading.Thread:
    """`work` started in a thread of its own, which keeps what it raises in `errors` and closes
    its connection."""

    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
