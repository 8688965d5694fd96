"""The blocking client connects writers in the background, on a bounded number of threads: a
burst of writers opened at once costs at most ``MAX_BACKGROUND_CONNECTS`` threads (the rest
connect on their own thread, as before), and every stream is whole."""

from __future__ import annotations

import threading
import time
from typing import Any

from streamstraight_server import Streamstraight
from streamstraight_server._shims._sync import MAX_BACKGROUND_CONNECTS
from streamstraight_server.devserver import ThreadedDevServer
from tests.support.helpers import stored

WRITERS = 3 * MAX_BACKGROUND_CONNECTS


def test_a_burst_of_writers_takes_a_bounded_number_of_threads(
    server: ThreadedDevServer, options: dict[str, Any]
) -> None:
    peak = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            now = {t.ident for t in threading.enumerate() if t.name == "streamstraight-open"}
            peak = max(peak, len(now))
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    client = Streamstraight(**options)
    try:
        writers = [client.stream_writer(stream_id=f"burst-{i}") for i in range(WRITERS)]
        for writer in writers:
            writer.__enter__()
            writer.send("first")  # taken at once, connected or not
        for writer in writers:
            writer.send("last")
            writer.__exit__(None, None, None)
    finally:
        stop.set()
        watcher.join()
        client.close()
    assert 0 < peak <= MAX_BACKGROUND_CONNECTS
    for i in range(WRITERS):
        assert stored(server, f"burst-{i}") == ['"first"', '"last"']
