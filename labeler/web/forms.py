"""HTML form helpers shared by the admin and account pages.

A refused form is rendered again with each message next to its field (status
400 or the service error's own), never a 500: the declared input models name
the field, and this maps their errors onto the form.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from labeler.models import Role
from labeler.services.errors import BadInput, ServiceError

GENERAL = "_form"


def field_errors(exc: ServiceError) -> dict[str, str]:
    """{field: message} from a service error; messages with no field go under ``_form``."""
    details = exc.details if isinstance(exc.details, dict) else {}
    out: dict[str, str] = {}
    for problem in details.get("errors") or []:
        if isinstance(problem, dict):
            field = str(problem.get("field") or "").split(".")[0] or GENERAL
            out.setdefault(field, f"{field}: {problem.get('message', '')}")
    if not out:
        field = details.get("field") or GENERAL
        out[str(field)] = exc.message
    return out


def text(form: Any, field: str) -> str:
    """A text field as typed, with browser line endings normalised."""
    return str(form.get(field, "")).replace("\r\n", "\n")


def role_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Log in first (anonymous users are redirected), then 403 unless the role is allowed.

    Admins pass every check, as everywhere else (``User.can``).
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.can(*roles):
                abort(
                    403,
                    "this page needs one of the roles: "
                    + ", ".join(["admin", *(r.value for r in roles if r is not Role.ADMIN)]),
                )
            return view(*args, **kwargs)

        return login_required(wrapper)

    return decorator


def whole_number(form: Any, field: str, default: int | None = None) -> int | None:
    """A whole number typed into a form (ASCII digits); its bounds are the model's."""
    raw = str(form.get(field, "")).strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.lstrip("-").isdigit() and len(raw) <= 12):
        raise BadInput(f"{field} must be a whole number", {"field": field})
    return int(raw)
