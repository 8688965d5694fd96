"""A background worker: the request returns at once, a thread pool streams the answer.

One blocking client is shared by every worker thread (each stream gets a connection of its
own). The browser reads the answer from Streamstraight with a client token. Run it::

    STREAMSTRAIGHT_API_KEY=sk_dev_... STREAMSTRAIGHT_API_BASE_URL=http://127.0.0.1:8787 \\
        python examples/worker.py                # werkzeug on 127.0.0.1:$PORT (5000)
    curl -X POST http://127.0.0.1:5000/answers/42   # 202, then the stream answer-42 fills up

The same shape fits Celery or RQ: the task calls ``streamstraight.stream(...)``.
"""

from __future__ import annotations

import atexit
import os
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from flask import Flask, request

from streamstraight_server import Streamstraight

app = Flask(__name__)

#: one client and one pool for the whole process
streamstraight = Streamstraight()
pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="answer")


def fake_llm(prompt: str) -> Iterator[str]:
    """Stands for the model's streaming API: 40 words, 20 ms apart."""
    for i in range(40):
        time.sleep(0.02)
        yield f"{prompt}-{i} "


def produce(message_id: str, prompt: str) -> int:
    """Runs on a worker thread: stream the whole answer, return how many chunks it holds."""
    return streamstraight.stream(fake_llm(prompt), stream_id=f"answer-{message_id}")


def submit(message_id: str, prompt: str) -> Future[int]:
    return pool.submit(produce, message_id, prompt)


@app.post("/answers/<message_id>")
def start_answer(message_id: str) -> tuple[dict[str, str], int]:
    submit(message_id, request.args.get("prompt", "word"))
    return {"stream_id": f"answer-{message_id}"}, 202


@atexit.register
def shutdown() -> None:
    pool.shutdown(wait=True)  # the answers under way finish first
    streamstraight.close()


if __name__ == "__main__":
    streamstraight.check()  # a wrong key or a stopped server stops the worker here
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), threaded=True)
