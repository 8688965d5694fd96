"""The local Python server in its own process, for the server-bound column.

Prints ``{"base_url", "api_key"}``; then each line read on stdin is a stream id, answered with
one JSON line of that stream's state (``null`` if unknown). Exits at the end of stdin.
"""

from __future__ import annotations

import asyncio
import json
import sys

from streamstraight_server.devserver import DevServer


async def main() -> None:
    loop = asyncio.get_running_loop()
    async with DevServer() as server:
        print(json.dumps({"base_url": server.base_url, "api_key": server.api_key}), flush=True)
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            snapshot = server.snapshot(line.strip())
            state = None
            if snapshot is not None:
                seqs = [c.seq for c in snapshot.chunks]
                state = {
                    "chunks": len(seqs),
                    "lastSeq": seqs[-1] if seqs else None,
                    "ended": snapshot.ended,
                    "reason": snapshot.end_reason,
                    "gaps": sum(1 for i, seq in enumerate(seqs) if seq != i),
                    "dups": 0,
                    "endLastSeqMismatch": 0,
                }
            print(json.dumps(state), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
