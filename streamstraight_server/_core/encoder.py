"""Turning a chunk into the string that travels as ``data``."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from .errors import ChunkTooLargeError, EncodeError
from .options import Encoder

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def default_encoder(chunk: Any) -> str:
    """Compact JSON; Pydantic v2 models through ``model_dump_json()``; dataclasses as objects."""
    if isinstance(chunk, str):
        return _dumps(chunk)
    dump_json = getattr(chunk, "model_dump_json", None)
    if callable(dump_json) and not isinstance(chunk, type):
        result = dump_json()
        if isinstance(result, str):
            return result
    if dataclasses.is_dataclass(chunk) and not isinstance(chunk, type):
        return _dumps(dataclasses.asdict(chunk))
    return _dumps(chunk)


def encode_chunk(encoder: Encoder | None, chunk: Any) -> str:
    """Encode one chunk, or raise :class:`EncodeError` saying why. ``""`` means skip it."""
    try:
        data = (encoder or default_encoder)(chunk)
    except EncodeError:
        raise
    except Exception as exc:  # a custom encoder may raise anything; nothing was sent
        raise EncodeError(
            f"cannot encode chunk of type {type(chunk).__name__}: {exc}. "
            "Pass JSON-serialisable data, a Pydantic model or a dataclass, "
            "or give the stream an encoder"
        ) from exc
    if not isinstance(data, str):
        raise EncodeError(f"the encoder returned {type(data).__name__}; an encoder must return str")
    return data


def chunk_size(data: str, limit: int) -> int:
    """Bytes of ``data`` in UTF-8; raises when it is not valid text or larger than ``limit``."""
    if data.isascii():
        size = len(data)
    else:
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise EncodeError(
                f"the encoded chunk is not valid text: {exc.reason} "
                f"({data[exc.start : exc.end]!r} at index {exc.start}); nothing was sent. "
                "Check the chunk, or what the encoder returns, for lone surrogates"
            ) from None
    if size > limit:
        raise ChunkTooLargeError(
            f"the encoded chunk is {size} bytes, above max_chunk_bytes={limit}; nothing was "
            "sent. Split it into smaller chunks, or raise max_chunk_bytes if the server allows"
        )
    return size
