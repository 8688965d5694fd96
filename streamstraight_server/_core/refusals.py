"""Which handshake refusals are worth another attempt."""

from __future__ import annotations

from typing import Any

from .errors import AuthenticationError, HandshakeRejectedError, StreamstraightServerError
from .redact import cut

_AUTH_WORDS = ("unauthorized", "unauthorised", "api key", "api_key", "forbidden", "invalid key")

#: one sentence of advice per refusal that retrying cannot fix; the server's words say what
#: happened, and carry no advice of ours
_ADVICE = {
    "stream-ended": "Give each answer a new stream_id, or pass overwrite_existing_stream=True "
    "to replace the stream",
    "stream-busy": "Wait until the producer writing it has ended, or use another stream_id",
    "bad-request": "The handshake was malformed: this is a bug, please report it",
}


def classify_refusal(
    message: str, data: dict[str, Any], http_status: int | None, *, resuming: bool
) -> StreamstraightServerError | None:
    """The error to raise at once for a refused handshake, or None when a retry may help.

    ``message`` and ``data`` are the server's, already scrubbed; the error shows the message
    cut short."""
    code = data.get("code") if isinstance(data.get("code"), str) else None
    lowered = message.lower()
    message = cut(message.rstrip(". "))
    if (
        http_status in (401, 403)
        or code == "unauthorized"
        or (code is None and any(word in lowered for word in _AUTH_WORDS))
    ):
        return AuthenticationError(
            f"the server rejected the API key: {message}. Check STREAMSTRAIGHT_API_KEY "
            "or the api_key option"
        )
    if code == "stream-busy" and resuming:
        return None  # the server may not have noticed yet that our old connection is gone
    if code in _ADVICE:
        return HandshakeRejectedError(
            f"the server refused the stream: {message}. {_ADVICE[code]}", code=code, details=data
        )
    if http_status is not None and 400 <= http_status < 500 and http_status != 429:
        return HandshakeRejectedError(
            f"the server refused the connection with HTTP {http_status}: {message}"
        )
    return None
