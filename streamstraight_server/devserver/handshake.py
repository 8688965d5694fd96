"""Checking a Socket.IO handshake; a failed check refuses it with a code the SDKs understand.

Stream ids (``streamId`` of both handshakes) are refused with ``bad-request`` unless they are a
string of 1 to ``MAX_STREAM_ID_LENGTH`` (512) Unicode characters, each of them printable: no
control characters (``\\n``, ``\\x00``, ``\\x7f``...), no format characters (zero-width space,
bidi controls), no surrogates, private-use or unassigned code points, and no separator other than
the ASCII space, which may not lead or end the id. This is Python's ``str.isprintable()``, the
same rule the SDK applies before it connects. Everything else (letters of any script, digits,
punctuation, ``/``, ``:``, emoji) is accepted as it is; ids are compared exactly, never normalised.
"""

from __future__ import annotations

import secrets
from typing import Any

import socketio

from streamstraight_server._core.protocol import MAX_STREAM_ID_LENGTH, PROTOCOL_VERSION

from .tokens import TokenError, TokenIssuer


class Refused(socketio.exceptions.ConnectionRefusedError):  # type: ignore[misc]
    """Refuse a handshake: CONNECT_ERROR data ``{"message", "code"[, "retryInMs"]}``.

    python-socketio turns a single positional argument into ``{"message": str(arg)}``, so the
    payload is set directly instead. ``detail`` is what the narration may print: the message
    without anything the client sent (the ``echo_credentials`` fault quotes credentials).
    """

    def __init__(
        self,
        message: str,
        code: str,
        retry_in_ms: int | None = None,
        extra: dict[str, Any] | None = None,
        *,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        args: dict[str, Any] = {"message": message, "code": code, **(extra or {})}
        if retry_in_ms is not None:
            args["retryInMs"] = retry_in_ms
        self.error_args = args
        self.code = code
        self.detail = message if detail is None else detail


def bearer_matches(authorization: object, secret: str) -> bool:
    """Whether an ``Authorization`` header value is ``Bearer <secret>``."""
    if not isinstance(authorization, str) or not authorization.startswith("Bearer "):
        return False
    return secrets.compare_digest(authorization[7:].strip().encode(), secret.encode())


#: a producer's or a token request's key is not the server's
WRONG_KEY = "invalid or missing API key"
#: said with it when the key was made for this run of the server
NEW_KEY_EACH_START = "this server makes a new API key each time it starts"


def wrong_key_message(key_made_this_run: bool) -> str:
    return f"{WRONG_KEY} ({NEW_KEY_EACH_START})" if key_made_this_run else WRONG_KEY


def api_key_ok(authorization: object, api_key: str) -> bool:
    """Whether an ``Authorization`` header value is ``Bearer <the API key>``."""
    return bearer_matches(authorization, api_key)


def stream_id_problem(stream_id: object) -> str | None:
    """Why ``stream_id`` is not an acceptable stream id (see the module doc), or None."""
    if not isinstance(stream_id, str) or not stream_id:
        return "streamId must be a non-empty string"
    if len(stream_id) > MAX_STREAM_ID_LENGTH:
        return f"streamId is {len(stream_id)} characters; the limit is {MAX_STREAM_ID_LENGTH}"
    if not stream_id.isprintable():
        return "streamId must not contain control or other non-printable characters"
    if stream_id != stream_id.strip():
        return "streamId must not start or end with whitespace"
    return None


def check_producer(
    environ: dict[str, Any],
    auth: Any,
    api_key: str,
    *,
    echo: bool = False,
    key_made_this_run: bool = False,
) -> tuple[str, bool]:
    """A producer's stream id and ``overwriteExistingStream``, or ``Refused``.

    ``echo`` (the ``echo_credentials`` fault) quotes the rejected header in the refusal.
    """
    authorization = environ.get("HTTP_AUTHORIZATION")
    if not api_key_ok(authorization, api_key):
        message = wrong_key_message(key_made_this_run)
        quoted = f" (got Authorization: {authorization})" if echo else ""
        raise Refused(message + quoted, "unauthorized", detail=message)
    if not isinstance(auth, dict):
        raise Refused("missing auth payload", "bad-request")
    role = auth.get("role")
    if role != "producer":
        raise Refused(f"unknown role {role!r}", "bad-request")
    stream_id = _version_and_stream_id(auth)
    if not isinstance(auth.get("sdkVersion", ""), str):
        raise Refused("sdkVersion must be a string", "bad-request")
    overwrite = auth.get("overwriteExistingStream", False)
    if not isinstance(overwrite, bool):
        raise Refused("overwriteExistingStream must be a boolean", "bad-request")
    return stream_id, overwrite


def check_consumer(auth: dict[str, Any], issuer: TokenIssuer, *, echo: bool = False) -> str:
    """The stream id a consumer asks for, or ``Refused`` (quoting the token when ``echo``)."""
    try:
        issuer.verify(auth.get("token"))
    except TokenError as exc:
        quoted = f" (got token {auth.get('token')})" if echo else ""
        message = f"consumer token rejected: {exc}"
        raise Refused(message + quoted, "unauthorized", detail=message) from exc
    return _version_and_stream_id(auth)


def _version_and_stream_id(auth: dict[str, Any]) -> str:
    if auth.get("version") != PROTOCOL_VERSION:
        raise Refused(f"unsupported version (expected {PROTOCOL_VERSION})", "bad-request")
    stream_id = auth.get("streamId")
    problem = stream_id_problem(stream_id)
    if problem is not None:
        raise Refused(problem, "bad-request")
    assert isinstance(stream_id, str)
    return stream_id
