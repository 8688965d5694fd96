"""``streamstraight token``: fetch a client token with the API key; print it or its claims."""

from __future__ import annotations

import argparse
import json

from .common import EXIT_OK, CliError, out
from .credentials import credentials, fetch_token

HELP = "print a client token for a browser"
DESCRIPTION = "Fetch a short-lived client token with the API key and print it."


def add_arguments(token: argparse.ArgumentParser) -> None:
    token.add_argument(
        "--decode",
        action="store_true",
        help="print the token's claims as JSON instead (decoded WITHOUT verifying the signature)",
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
    out(json.dumps(claims, indent=2, sort_keys=True))
    return EXIT_OK
