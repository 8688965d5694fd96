"""``streamstraight token``: fetch a client token with the API key; print it or its claims."""

from __future__ import annotations

import argparse
import datetime
import json
import time

from .common import EXIT_OK, CliError, out
from .credentials import credentials, fetch_token

HELP = "print a client token for a browser"
DESCRIPTION = "Fetch a short-lived client token with the API key and print it."


def add_arguments(token: argparse.ArgumentParser) -> None:
    token.add_argument(
        "--decode",
        action="store_true",
        help="print JSON instead: the token, its claims (read WITHOUT verifying the signature), "
        "when it expires and in how many seconds (default: off)",
    )


def run(args: argparse.Namespace) -> int:
    from .. import StreamstraightTokenError, token_claims

    api_key, base_url = credentials(args)
    token = fetch_token(api_key, base_url)
    if not args.decode:
        out(token)
        return EXIT_OK
    try:
        claims = token_claims(token)
    except StreamstraightTokenError as exc:
        raise CliError(str(exc)) from None
    decoded: dict[str, object] = {"token": token, "claims": claims, "signatureVerified": False}
    expiry = claims.get("exp")
    if isinstance(expiry, (int, float)) and not isinstance(expiry, bool):
        moment = datetime.datetime.fromtimestamp(expiry, datetime.timezone.utc)
        decoded["expiresAt"] = moment.isoformat().replace("+00:00", "Z")
        decoded["expiresInSeconds"] = round(expiry - time.time())
    out(json.dumps(decoded, indent=2, sort_keys=True))
    return EXIT_OK
