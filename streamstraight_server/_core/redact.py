"""Scrubbing secrets out of text that came from a server before it reaches an exception or a log.

A server may echo what it was sent (an ``Authorization`` header in an error body, a token in a
refusal). ``scrub`` replaces the caller's secrets, as given and stripped of surrounding whitespace,
and anything shaped like a JWT, with ``***``.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

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


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every secret (as given and stripped) and every JWT-shaped run replaced."""
    candidates = {s for secret in secrets if secret for s in (secret.strip(), secret)}
    # longest first, so a secret that contains another is replaced whole
    for secret in sorted(candidates, key=lambda s: (len(s.strip()), -len(s)), reverse=True):
        if len(secret.strip()) >= _MIN_SECRET:
            text = text.replace(secret, MASK)
    return _JWT.sub(MASK, text)


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
