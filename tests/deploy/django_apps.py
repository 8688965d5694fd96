"""The Django example served by a WSGI or an ASGI server: ``wsgi`` and ``asgi`` here."""

from __future__ import annotations

from typing import Any

from django.core.asgi import get_asgi_application  # type: ignore[import-untyped]
from django.core.wsgi import get_wsgi_application  # type: ignore[import-untyped]

import examples.django_app  # noqa: F401 - configures Django and holds the views

wsgi: Any = get_wsgi_application()
asgi: Any = get_asgi_application()
