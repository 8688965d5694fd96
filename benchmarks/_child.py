"""One measured run in a fresh process: ``_child.py CONTENDER WORKLOAD URL KEY STREAM_ID PARAMS``.

PARAMS is a JSON object of the workload's keyword arguments. The contender's module (and so its
SDK) is imported before any clock starts; the result is one JSON line on stdout. Run with
``python -I`` from a neutral directory, so the official SDK's venv cannot see this checkout;
the ``sdk-before-*`` contenders run without ``-I``, with ``PYTHONPATH`` naming an exported
earlier version of this package, which so comes before the checkout's.
The paced workloads exit at once after their line: a stream still running at their deadline
must not hold the process.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import sys
from pathlib import Path

CONTENDERS = {
    "sdk-async": ("_sdk", "async"),
    "sdk-blocking": ("_sdk", "blocking"),
    "official": ("_official", "async"),
    "raw-async": ("_raw", "async"),
    "raw-blocking": ("_raw", "blocking"),
    # this SDK as of an earlier commit, exported elsewhere and put first on PYTHONPATH
    "sdk-before-async": ("_sdk", "async"),
    "sdk-before-blocking": ("_sdk", "blocking"),
}


def main() -> None:
    contender, workload, url, key, stream_id, params = sys.argv[1:7]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    module_name, flavour = CONTENDERS[contender]
    module = importlib.import_module(module_name)
    paced = importlib.import_module("_paced").WORKLOADS
    target = importlib.import_module("_measure").Target(url, key)
    function = getattr(module, f"{workload.replace('-', '_')}_{flavour}", None)
    if function is None:
        raise SystemExit(f"{contender} has no {workload} workload")
    outcome = function(target, stream_id, **json.loads(params))
    result = asyncio.run(outcome) if inspect.iscoroutine(outcome) else outcome
    print(json.dumps(result), flush=True)
    if workload in paced:
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
