"""Who may talk to the dev server: the ``Host`` allow-list, Socket.IO CORS and the viewer's token.

The dev server runs on laptops beside a browser, so a web page must not be able to read streams
through it:

- **Host.** Every HTTP and Socket.IO request whose ``Host`` is not a loopback name or address
  (``localhost``, ``*.localhost``, ``127.0.0.0/8``, ``::1``), the address the server is bound to,
  or a host added with ``--allowed-host`` is answered 403. This stops DNS rebinding: a page on
  ``attacker.example`` that rebinds its name to 127.0.0.1 still sends ``Host: attacker.example``.
  An allowed host starting with a dot (``.example.test``) allows that name and every subdomain.
- **CORS.** Socket.IO answers cross-origin requests only from loopback origins (any port) and
  origins added with ``--cors-origin``; any other ``Origin`` is refused, never reflected.
- **Viewer.** The viewer page and ``/api/*`` need a credential: the viewer token (``?token=`` on
  the URL ``streamstraight dev`` prints; the page then sets an HttpOnly, SameSite=Strict cookie
  and redirects to a URL without it), that cookie, or ``Authorization: Bearer <API key or viewer
  token>``. Without one, ``/api/*`` answers 401 JSON and the page a 401 explaining what to open.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from .handshake import bearer_matches

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COOKIE_PREFIX = "streamstraight-viewer-"
_WILDCARD_BINDS = ("", "0.0.0.0", "::")

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Streamstraight dev server</title></head>
<body style="font: 14px system-ui, sans-serif; margin: 1.5rem">
<h1 style="font-size: 1.2rem">This viewer needs its token</h1>
<p>Open the viewer URL that <code>streamstraight dev</code> printed (it ends in
<code>?token=...</code>). Embedded servers give it as <code>server.viewer_url</code>.</p>
</body></html>
"""


def is_loopback_name(host: str) -> bool:
    """``localhost``, a subdomain of it, or a loopback IP address (no port, no brackets)."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name in a ``Host`` header: without the port and IPv6 brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


class HostPolicy:
    """Which ``Host`` names and which ``Origin``s the server answers."""

    def __init__(
        self, bind_host: str, allowed_hosts: Iterable[str], cors_origins: Iterable[str]
    ) -> None:
        names = {h.strip().lower().rstrip(".") for h in allowed_hosts if h.strip()}
        if bind_host not in _WILDCARD_BINDS:
            names.add(host_name(bind_host))
        self.exact = {n for n in names if not n.startswith(".")}
        self.suffixes = {n for n in names if n.startswith(".")}
        self.cors_origins = {o.strip().rstrip("/").lower() for o in cors_origins if o.strip()}

    def host_allowed(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        name = host_name(host_header)
        if is_loopback_name(name) or name in self.exact:
            return True
        return any(name == s[1:] or name.endswith(s) for s in self.suffixes)

    def origin_allowed(self, origin: object, *_: object) -> bool:
        """Engine.IO's ``cors_allowed_origins`` callable (it passes the environ too)."""
        if not isinstance(origin, str) or not origin:
            return False
        if origin.rstrip("/").lower() in self.cors_origins:
            return True
        try:
            parts = urlsplit(origin)
            hostname = parts.hostname
        except ValueError:
            return False
        return (
            parts.scheme in ("http", "https")
            and hostname is not None
            and (is_loopback_name(hostname))
        )


class ViewerAccess:
    """The viewer's credential checks (see the module doc)."""

    def __init__(self, viewer_token: str, api_key: str, port: Callable[[], int]) -> None:
        self.viewer_token = viewer_token
        self.api_key = api_key
        self._port = port

    @property
    def cookie_name(self) -> str:
        # cookies ignore ports: two dev servers on one machine keep their own cookie
        return f"{COOKIE_PREFIX}{self._port()}"

    def _token_ok(self, value: str | None) -> bool:
        return bool(value) and secrets.compare_digest(
            str(value).encode(), self.viewer_token.encode()
        )

    def allowed(self, request: web.Request) -> bool:
        authorization = request.headers.get("Authorization")
        return (
            self._token_ok(request.cookies.get(self.cookie_name))
            or self._token_ok(request.query.get("token"))
            or bearer_matches(authorization, self.api_key)
            or bearer_matches(authorization, self.viewer_token)
        )

    def login_redirect(self, request: web.Request) -> web.Response | None:
        """For ``GET /?token=<viewer token>``: a redirect that sets the cookie; else None."""
        if request.path != "/" or not self._token_ok(request.query.get("token")):
            return None
        response = web.Response(status=303, headers={"Location": "/"})
        response.set_cookie(
            self.cookie_name, self.viewer_token, httponly=True, samesite="Strict", path="/"
        )
        return response


def access_middleware(policy: HostPolicy, viewer: ViewerAccess) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not policy.host_allowed(request.headers.get("Host")):
            return web.json_response(
                {"error": "host not allowed (start the dev server with --allowed-host NAME)"},
                status=403,
            )
        path = request.path
        if path == "/" or path.startswith("/api/"):
            login = viewer.login_redirect(request)
            if login is not None:
                return login
            if not viewer.allowed(request):
                if path == "/":
                    return web.Response(text=_LOGIN_PAGE, content_type="text/html", status=401)
                return web.json_response(
                    {"error": "the viewer token or the API key is required"}, status=401
                )
        return await handler(request)

    return middleware
