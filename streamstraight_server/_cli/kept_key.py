"""``streamstraight dev --keep-key``: the dev server's secrets, kept in a per-user file.

Without it every start makes a new API key, and an app started with the previous one is
refused. With it the API key, the secret that signs client tokens and the viewer's token are
read from ``$XDG_CONFIG_HOME/streamstraight/dev-server.json`` (``~/.config/...`` by default),
made there on first use, readable by the user only. A restart then breaks neither a running
app, nor a browser holding a client token, nor an open viewer.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from .common import CliError

FILE_NAME = "dev-server.json"


@dataclass(frozen=True)
class KeptSecrets:
    api_key: str
    jwt_secret: str
    viewer_token: str

    @classmethod
    def new(cls) -> KeptSecrets:
        return cls(
            api_key="sk_dev_" + secrets.token_urlsafe(24),
            jwt_secret=secrets.token_urlsafe(32),
            viewer_token=secrets.token_urlsafe(24),
        )


def kept_key_path() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME", "").strip()
    base = Path(config_home) if config_home else Path.home() / ".config"
    return base / "streamstraight" / FILE_NAME


def load_or_create(path: Path) -> tuple[KeptSecrets, bool]:
    """The secrets kept at ``path``, made and saved first when there are none; returns them and
    whether they were made now."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        made = KeptSecrets.new()
        _save(path, made)
        return made, True
    except OSError as exc:
        raise CliError(f"cannot read the kept key at {path}: {exc.strerror or exc}") from None
    kept = _parse(text)
    if kept is None:
        raise CliError(f"the kept key at {path} is damaged; delete the file to make a new key")
    return kept, False


def _parse(text: str) -> KeptSecrets | None:
    try:
        fields = json.loads(text)
        kept = KeptSecrets(**{name: fields[name] for name in asdict(KeptSecrets.new())})
    except (ValueError, TypeError, KeyError):
        return None
    usable = all(
        isinstance(value, str) and value.isascii() and value.isprintable() and value.strip()
        for value in asdict(kept).values()
    )
    return kept if usable else None


def _save(path: Path, kept: KeptSecrets) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(asdict(kept), out, indent=2)
            out.write("\n")
        os.replace(scratch, path)
    except OSError as exc:
        raise CliError(f"cannot keep the key at {path}: {exc.strerror or exc}") from None
