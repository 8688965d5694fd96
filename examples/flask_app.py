"""Flask: a token route with the blocking client, and a streaming route using ``tee()``.

Run it::

    STREAMSTRAIGHT_API_KEY=sk_dev_... STREAMSTRAIGHT_API_BASE_URL=http://127.0.0.1:8787 \\
        python examples/flask_app.py             # werkzeug on 127.0.0.1:$PORT (5000)
    curl -N http://127.0.0.1:5000/chat/42

The answer reaches Streamstraight whole (``answer-42``) even when the browser leaves early:
``tee()`` reads the model in a thread of its own, and werkzeug closing the response only
detaches the browser.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from flask import Flask, Response, request

from streamstraight_server import Streamstraight

app = Flask(__name__)

#: one client for the whole app; STREAMSTRAIGHT_API_KEY and _BASE_URL come from the environment
streamstraight = Streamstraight()


def fake_llm(prompt: str) -> Iterator[str]:
    """Stands for the model's streaming API: 40 words, 20 ms apart."""
    for i in range(40):
        time.sleep(0.02)
        yield f"{prompt}-{i} "


@app.get("/chat/<message_id>")
def chat(message_id: str) -> Response:
    prompt = request.args.get("prompt", "word")
    answer = streamstraight.tee(fake_llm(prompt), stream_id=f"answer-{message_id}")
    return Response(answer, mimetype="text/plain")


@app.post("/streamstraight-token")
def streamstraight_token() -> dict[str, str]:
    # check that the user may read the stream first: the token reads every stream of the key
    return {"token": streamstraight.fetch_client_token()}


if __name__ == "__main__":
    streamstraight.check()  # a wrong key or a stopped server stops the app here
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), threaded=True)
