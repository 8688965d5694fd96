"""A TCP proxy on 127.0.0.1 that delays every byte by a fixed time in each direction.

    python benchmarks/_proxy.py --upstream 127.0.0.1:PORT [--delay-ms 50]

Prints ``{"port": N}`` once listening (a free port), then forwards every connection it accepts
to the upstream address until its stdin ends. Each read, in either direction, is written to the
other side ``delay`` after it was read: order is kept (one queue per direction, written by one
task) and nothing limits the throughput (bytes already due go out at once, however many).
Only the payload is delayed: the TCP handshake with the proxy itself is the local kernel's, so
a connection costs two round trips through it (the WebSocket upgrade, then Socket.IO's CONNECT)
where a real network adds a third for TCP (and TLS more). A hop arrives up to about a
millisecond late: the event loop's timers wait in whole milliseconds (epoll), rounded up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys

#: bytes taken from a socket at once
READ_SIZE = 65536

Item = tuple[float, bytes]


async def _read(reader: asyncio.StreamReader, queue: asyncio.Queue[Item], delay: float) -> None:
    """Every read, stamped with the time it is due on the other side; b"" at the end."""
    loop = asyncio.get_running_loop()
    data = b"?"
    while data:
        try:
            data = await reader.read(READ_SIZE)
        except (ConnectionError, OSError):
            data = b""
        queue.put_nowait((loop.time() + delay, data))


async def _write(writer: asyncio.StreamWriter, queue: asyncio.Queue[Item]) -> None:
    """Write each read once it is due, in the order read; half-close at the end."""
    loop = asyncio.get_running_loop()
    while True:
        due, data = await queue.get()
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            if queue.empty():
                await writer.drain()
        except (ConnectionError, OSError, RuntimeError):
            return


async def _carry(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[Item] = asyncio.Queue()
    await asyncio.gather(_read(reader, queue, delay), _write(writer, queue))


class DelayProxy:
    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream = upstream
        self.delay = delay

    async def serve(
        self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server = await asyncio.open_connection(*self.upstream)
        except OSError:
            client.close()
            return
        try:
            await asyncio.gather(
                _carry(client_reader, server, self.delay),
                _carry(server_reader, client, self.delay),
            )
        except asyncio.CancelledError:
            pass  # the proxy is stopping (asyncio's stream server would log it as an error)
        finally:
            for side in (client, server):
                side.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await side.wait_closed()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--delay-ms", type=float, default=50.0, help="delay in each direction")
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    proxy = DelayProxy((host, int(port)), args.delay_ms / 1e3)
    server = await asyncio.start_server(proxy.serve, "127.0.0.1", 0)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    loop = asyncio.get_running_loop()
    async with server:
        # serve until the parent closes our stdin
        await loop.run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main())
