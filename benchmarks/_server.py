"""A local server in its own process, so that clients are measured without it."""

from __future__ import annotations

import asyncio
import json
import sys

from streamstraight_server.devserver import DevServer


async def main() -> None:
    async with DevServer() as server:
        print(json.dumps({"base_url": server.base_url, "api_key": server.api_key}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main())
