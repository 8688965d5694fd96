"""Text from a server, made safe for an exception or a log: scrubbed of secrets, then bounded.

A server may echo what it was sent (an ``Authorization`` header in an error body, a token in a
refusal), and may send any amount of it. ``scrub`` replaces the caller's secrets (as given and
stripped of surrounding whitespace), every run of ``FRAGMENT`` or more of a secret's characters
(a key the server cut short itself), and anything shaped like a JWT, with ``***``. ``shown``
scrubs first and cuts afterwards, to ``SHOWN`` characters with control characters escaped: cut
first, a key at the cut would survive but for its last characters. ``scrub_data`` scrubs every
string of a decoded JSON value, at any depth, and ``whole`` writes any value out scrubbed.
Only error paths pay for any of this.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "***"
#: at most this many characters of a server's text go into a message or a log record
SHOWN = 300
#: a run of this many characters of a secret is masked wherever it appears
FRAGMENT = 8
#: ``scrub_data`` keeps this many levels of nesting; deeper values are replaced
MAX_DEPTH = 20
TOO_DEEP = "<nested too deep>"

#: shorter secrets are left alone: replacing one or two characters would garble the text
_MIN_SECRET = 4

# Three base64url segments separated by dots. A JWT's header is a JSON object, so its first
# segment starts with "eyJ"; without that prefix all three segments must be long, so host names
# and version numbers ("api.example.com", "1.2.3") are not taken for tokens.
_B64 = r"[A-Za-z0-9_-]"
_JWT = re.compile(
    rf"(?<!{_B64})(?:eyJ{_B64}*\.{_B64}+\.{_B64}*|{_B64}{{16,}}\.{_B64}{{16,}}\.{_B64}{{16,}})"
    rf"(?!{_B64})"
)
# C0 controls, DEL and the line separators: a server's text cannot start a new log line
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(32), 127)} | {
    9: "\\t",
    10: "\\n",
    13: "\\r",
    0x85: "\\x85",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every secret (as given and stripped), every run of ``FRAGMENT`` of its
    characters, and every JWT-shaped run replaced by ``***``."""
    candidates = {s for secret in secrets if secret for s in (secret.strip(), secret)}
    # longest first, so a secret that contains another is replaced whole
    ordered = sorted(candidates, key=lambda s: (len(s.strip()), -len(s)), reverse=True)
    for secret in ordered:
        if len(secret.strip()) >= _MIN_SECRET:
            text = text.replace(secret, MASK)
    for secret in ordered:
        if secret == secret.strip() and len(secret) > FRAGMENT:
            text = _mask_fragments(text, secret)
    return _JWT.sub(MASK, text)


def _mask_fragments(text: str, secret: str) -> str:
    """Mask every run of ``FRAGMENT`` or more characters of ``secret``: each such run is covered
    by the ``FRAGMENT``-long pieces of the secret found in it."""
    spans: list[tuple[int, int]] = []
    for piece in {secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)}:
        at = text.find(piece)
        while at >= 0:
            spans.append((at, at + FRAGMENT))
            at = text.find(piece, at + 1)
    if not spans:
        return text
    spans.sort()
    parts: list[str] = []
    done = 0
    start, end = spans[0]
    for next_start, next_end in spans[1:]:
        if next_start <= end:
            end = max(end, next_end)
            continue
        parts += [text[done:start], MASK]
        done, start, end = end, next_start, next_end
    parts += [text[done:start], MASK, text[end:]]
    return "".join(parts)


def shown(text: str, *secrets: str | None, limit: int = SHOWN) -> str:
    """A server's text as a message may show it: scrubbed, then ``cut``."""
    return cut(scrub(text, *secrets), limit)


def cut(text: str, limit: int = SHOWN) -> str:
    """Scrubbed text cut to ``limit`` characters (saying how long it was), with control
    characters escaped so that it cannot forge a log line."""
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text):,} characters in all)"
    return text.translate(_CONTROLS)


def whole(value: Any, *secrets: str | None, quoted: bool = False) -> str:
    """Any value a server sent, written out whole and scrubbed: a string as it is (its repr when
    ``quoted``), anything else as its repr, its strings scrubbed at every depth before the repr
    and the text again after."""
    if isinstance(value, str) and not quoted:
        return scrub(value, *secrets)
    return scrub(repr(scrub_data(value, *secrets)), *secrets)


def scrub_data(value: Any, *secrets: str | None, depth: int = MAX_DEPTH) -> Any:
    """A copy of a decoded JSON value with every string (keys too) scrubbed; containers deeper
    than ``depth`` levels are replaced by ``TOO_DEEP`` (nothing downstream has to recurse far).
    Values of other types are returned as they are."""
    if isinstance(value, str):
        return scrub(value, *secrets)
    if isinstance(value, (bytes, bytearray)):
        return scrub(bytes(value).decode("latin-1"), *secrets).encode("latin-1", "replace")
    kind = type(value)
    if kind not in (dict, list, tuple):
        return value
    if depth <= 0:
        return TOO_DEEP
    if kind is dict:
        return {
            scrub_data(k, *secrets, depth=depth - 1): scrub_data(v, *secrets, depth=depth - 1)
            for k, v in value.items()
        }
    return kind(scrub_data(v, *secrets, depth=depth - 1) for v in value)


def scrub_exception(exc: BaseException, *secrets: str | None) -> None:
    """Scrub, in place, the ``args`` and attributes of ``exc`` and of every exception in its
    chain (causes and contexts): a transport's exception may quote what a server answered, in
    its message, a body or the headers it keeps."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        link = todo.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        args = scrub_data(link.args, *secrets)
        if args != link.args:
            link.args = args
        for name, value in list(vars(link).items()):
            if isinstance(value, BaseException):
                continue  # scrubbed as a link of the chain when it is one
            if isinstance(value, (str, bytes, bytearray)) or type(value) in (dict, list, tuple):
                plain: Any = value
            elif callable(getattr(value, "items", None)):
                plain = dict(value.items())  # headers and the like
            else:
                # any other object (a request's description with its headers): its repr
                # stands in for it when that shows a secret
                try:
                    plain = repr(value)
                except Exception:
                    continue
                if scrub(plain, *secrets) == plain:
                    continue
            cleaned = scrub_data(plain, *secrets)
            if cleaned != plain:
                try:
                    setattr(link, name, cleaned)
                except (AttributeError, TypeError):
                    pass
        todo.extend(e for e in (link.__cause__, link.__context__) if e is not None)


class ScrubbingFilter(logging.Filter):
    """A logging filter that scrubs each record's text (secrets given here, and JWTs).

    For loggers handed to a library that logs what it sends, such as python-socketio's and
    engineio's packet logs: a consumer's CONNECT packet carries its token.
    """

    def __init__(self, *secrets: str | None) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage(), *self._secrets)
        record.args = None
        return True
