"""Security headers on every answer: what a browser may load, frame, sniff, send as referrer and cache.

The dashboard loads only its own scripts and styles (HTMX is vendored, behaviour hangs off data-
attributes), so its policy allows nothing inline. Pages and API answers carry data of one organisation:
no browser or proxy may keep them (`no-store`); only the static assets may be cached.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on form posts, and the
# login and session checks compare Origin with our own host. Login-code URLs never leave the site.
FIXED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
CACHEABLE_PREFIXES = ("/static/", "/docs-assets/")


class SecurityHeaders:
    """Adds the headers to every HTTP answer; a route that sets its own CSP (the API docs) keeps it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(CACHEABLE_PREFIXES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in FIXED.items():
                    headers[name] = value
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = CSP
                if not cacheable:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)
