"""Django: a token view with the blocking client, and a streaming view using ``tee()``.

A one-file project (settings, views and URLs); in yours the views go to ``views.py`` and the
client to a module of its own. Run it::

    STREAMSTRAIGHT_API_KEY=sk_dev_... STREAMSTRAIGHT_API_BASE_URL=http://127.0.0.1:8787 \\
        python examples/django_app.py            # runserver on 127.0.0.1:$PORT (8000)
    curl -N http://127.0.0.1:8000/chat/42

The answer reaches Streamstraight whole (``answer-42``) even when the browser leaves early:
``tee()`` reads the model in a thread of its own, and Django closing the response only detaches
the browser.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator

from django.conf import settings  # type: ignore[import-untyped]

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="example-only-not-secret",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
    )

from django.http import (  # type: ignore[import-untyped]
    HttpRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import path  # type: ignore[import-untyped]
from django.views.decorators.http import require_POST  # type: ignore[import-untyped]

from streamstraight_server import Streamstraight

#: one client for the whole site; STREAMSTRAIGHT_API_KEY and _BASE_URL come from the environment
streamstraight = Streamstraight()


def fake_llm(prompt: str) -> Iterator[str]:
    """Stands for the model's streaming API: 40 words, 20 ms apart."""
    for i in range(40):
        time.sleep(0.02)
        yield f"{prompt}-{i} "


def chat(request: HttpRequest, message_id: str) -> StreamingHttpResponse:
    prompt = request.GET.get("prompt", "word")
    answer = streamstraight.tee(fake_llm(prompt), stream_id=f"answer-{message_id}")
    return StreamingHttpResponse(answer, content_type="text/plain")


@require_POST  # type: ignore[untyped-decorator]
def streamstraight_token(request: HttpRequest) -> JsonResponse:
    # check that the user may read the stream first: the token reads every stream of the key
    return JsonResponse({"token": streamstraight.fetch_client_token()})


urlpatterns = [
    path("chat/<str:message_id>", chat),
    path("streamstraight-token", streamstraight_token),
]


if __name__ == "__main__":
    from django.core.management import execute_from_command_line  # type: ignore[import-untyped]

    streamstraight.check()  # in a project: AppConfig.ready(); a wrong key stops the app here
    port = os.environ.get("PORT", "8000")
    args = sys.argv[1:] or ["runserver", f"127.0.0.1:{port}", "--noreload"]
    execute_from_command_line([sys.argv[0], *args])
