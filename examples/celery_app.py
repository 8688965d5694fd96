"""Celery: a task streams the answer with the blocking client; the request only enqueues it.

Run it (any broker Celery supports; here Redis)::

    export STREAMSTRAIGHT_API_KEY=sk_dev_... STREAMSTRAIGHT_API_BASE_URL=http://127.0.0.1:8787
    export CELERY_BROKER_URL=redis://127.0.0.1:6379/0
    celery -A examples.celery_app worker --concurrency 4
    python -c "from examples.celery_app import answer; answer.delay('42', 'hi')"

One client per worker process, created at import: a prefork worker's children each get their
own connections and I/O thread after the fork. A warm shutdown (SIGTERM) lets the answers
under way finish before the worker exits.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from celery import Celery  # type: ignore[import-untyped]

from streamstraight_server import Streamstraight

app = Celery("answers", broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))

#: one client per process; STREAMSTRAIGHT_API_KEY and _BASE_URL come from the environment
streamstraight = Streamstraight()


def fake_llm(prompt: str) -> Iterator[str]:
    """Stands for the model's streaming API: 40 words, 20 ms apart."""
    for i in range(40):
        time.sleep(0.02)
        yield f"{prompt}-{i} "


@app.task  # type: ignore[untyped-decorator]
def answer(message_id: str, prompt: str = "word") -> int:
    """Stream the answer to ``answer-<message_id>``; returns how many chunks it holds."""
    return streamstraight.stream(fake_llm(prompt), stream_id=f"answer-{message_id}")
