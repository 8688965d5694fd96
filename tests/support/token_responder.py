"""A token endpoint that answers badly on purpose: wrong status, bad bodies, slowness, echoes.

Plain ``http.server`` in a thread, so both flavours' tests can use it.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

ANSWERS: dict[str, tuple[int, str]] = {
    "401": (401, '{"error": "invalid API key"}'),
    "403": (403, '{"error": "key lacks scope"}'),
    "500": (500, '{"error": "database on fire"}'),
    "not-json": (200, "<html>hello</html>"),
    "no-token": (200, '{"jwt": "a.b.c"}'),
    "token-not-a-string": (200, '{"token": 42}'),
    "not-a-jwt": (200, '{"token": "opaque-token-without-dots"}'),
    "echo": (401, ""),  # the body quotes the request's Authorization header
    "slow": (200, '{"token": "a.b.c"}'),  # answered after SLOW_SECONDS
}
SLOW_SECONDS = 1.5


class TokenResponder:
    """``with TokenResponder("500") as url: ...``; ``requests`` counts what reached it."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.requests = 0
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                responder.requests += 1
                status, body = ANSWERS[responder.answer]
                if responder.answer == "echo":
                    body = f'{{"error": "rejected {self.headers.get("Authorization")}"}}'
                if responder.answer == "slow":
                    time.sleep(SLOW_SECONDS)
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up first

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="token-responder")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> TokenResponder:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
