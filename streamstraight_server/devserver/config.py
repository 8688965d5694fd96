"""Configuration and fault injection of the local dev server."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Faults:
    """Faults to inject; every field may be changed while the server runs.

    - ``refuse_connections``: refuse the next N producer handshakes with CONNECT_ERROR
      ``{"message": "injected fault: ...", "code": "internal", "retryInMs": 200}``; decrements.
    - ``drop_after_chunks``: when one producer connection has received that many chunks, store the
      last one but do not ack it, then close the producer's transport (like a network drop).
      Fires once, then resets to ``None``.
    - ``ack_delay``: delay every per-chunk ``producer:ack`` by that many seconds (order kept).
    - ``withhold_acks``: never send per-chunk ``producer:ack`` (END is still answered).
    - ``withhold_end_ack``: store END but never answer its callback (nor the legacy END ack).
    - ``error_after_chunks`` / ``error_code``: after a producer connection has received that many
      chunks (the last is stored and acked), send ``stream:error`` with ``error_code``, end the
      stream with ``producer-error`` and disconnect the producer. Fires once, then resets.
    - ``echo_credentials``: behave like a careless server that echoes what it was sent, to test
      that clients scrub it: a refused token request (401) and a refused producer or consumer
      handshake quote the ``Authorization`` header or the consumer's token, and the
      ``stream:error`` of ``error_after_chunks`` quotes the producer's ``Authorization`` header.

    Stopping and restarting the server mid-stream is ``DevServer.restart(down_for)``.
    """

    refuse_connections: int = 0
    drop_after_chunks: int | None = None
    ack_delay: float = 0.0
    withhold_acks: bool = False
    withhold_end_ack: bool = False
    error_after_chunks: int | None = None
    error_code: str = "internal"
    echo_credentials: bool = False


@dataclass
class DevServerConfig:
    """Settings of a dev server; all durations are seconds.

    ``viewer_token`` opens the viewer and ``/api/*`` (random when None); ``allowed_hosts`` and
    ``cors_origins`` widen the ``Host`` allow-list and Socket.IO CORS (see ``access``).
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str | None = None
    jwt_secret: str | None = None
    token_ttl: float = 300.0
    inactivity_timeout: float = 300.0
    producer_grace: float = 30.0
    consumer_wait: float = 30.0
    retention: float = 3600.0
    max_chunk_bytes: int = 1_048_576
    viewer_token: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    faults: Faults = field(default_factory=Faults)
