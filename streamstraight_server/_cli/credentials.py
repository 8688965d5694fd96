"""The API key and server URL of ``send``, ``tail`` and ``token``, and the client token they get."""

from __future__ import annotations

import argparse
import os

from .common import ENV_API_KEY, ENV_BASE_URL, CliError, UsageError
from .reach import unreachable


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--api-key", metavar="KEY", help=f"API key (default: ${ENV_API_KEY}; prefer the variable)"
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help=f"server URL (default: ${ENV_BASE_URL}, else the hosted service)",
    )


def credentials(args: argparse.Namespace) -> tuple[str, str]:
    from .._core.protocol import DEFAULT_BASE_URL

    api_key = args.api_key if args.api_key is not None else os.environ.get(ENV_API_KEY, "")
    if not api_key.strip():
        raise UsageError(f"no API key: set {ENV_API_KEY} or pass --api-key")
    base_url = args.base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    return api_key.strip(), base_url


def fetch_token(api_key: str, base_url: str) -> str:
    from .. import (
        ConfigurationError,
        StreamstraightServerError,
        StreamstraightTokenError,
        fetch_client_token_sync,
    )

    try:
        return fetch_client_token_sync(api_key=api_key, base_url=base_url)
    except ConfigurationError as exc:
        raise UsageError(str(exc)) from None
    except StreamstraightTokenError as exc:
        if exc.status is None:
            raise CliError(unreachable(base_url, exc.message)) from None
        raise CliError(f"could not get a client token from {base_url}: {exc}") from None
    except StreamstraightServerError as exc:
        raise CliError(f"could not get a client token from {base_url}: {exc}") from None
