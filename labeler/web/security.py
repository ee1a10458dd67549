"""Security headers on every response, and the 429 answer of the rate limiter.

The pages carry no inline script or style (scripts and CSS are static files,
charts are SVG with classes), so a strict Content-Security-Policy costs nothing
and turns any markup that slips past escaping into inert text. Image items may
be URLs or ``data:`` URLs, hence the wider ``img-src``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from flask import Flask, Response, flash, render_template, request
from flask_limiter.errors import RateLimitExceeded

from labeler.extensions import limiter
from labeler.web.errors import error_response, wants_json

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob: https:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Two years, the preload list's minimum; only over HTTPS in production.
HSTS = "max-age=63072000; includeSubDomains"


def retry_after_seconds() -> int:
    """Seconds until the breached limit of this request resets (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def init_app(app: Flask) -> None:
    """Add the headers to every response and answer 429 with ``Retry-After``."""
    production = app.config.get("LABELER_ENV") == "production"

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    @app.errorhandler(RateLimitExceeded)
    def _too_many(exc: RateLimitExceeded) -> Any:
        wait = retry_after_seconds()
        message = f"too many failed attempts; try again in {wait} seconds"
        if request.endpoint == "auth.login" and not wants_json():
            flash(f"Too many failed logins. Try again in {wait} seconds.", "error")
            body = render_template("login.html", name=request.form.get("name", ""))
            response = app.make_response((body, 429))
        else:
            response = app.make_response(
                error_response(429, "too_many_requests", message, {"retry_after": wait})
            )
        response.headers["Retry-After"] = str(wait)
        return response
