"""Users, passwords and API tokens: the account rules in one place.

The CLI and the API both call these functions, so a rule (minimum password
length, what revoking or deactivating ends) is written once. Authentication
costs the same whether the name exists or not, so timing does not tell which
user names exist.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from labeler.extensions import db
from labeler.models import ApiToken, Lease, Project, Role, User
from labeler.models.types import utcnow
from labeler.services import assignment
from labeler.services.errors import BadInput, Conflict, NotFound
from labeler.services.inputs import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    USER_NAME_MAX,
    UserPatch,
    as_id,
    is_reference,
)

TOKEN_PREFIX = "lbl_"


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise BadInput(
            f"unknown role {role!r}", {"field": "role", "allowed": [r.value for r in Role]}
        ) from None


def create_user(
    name: str, role: str = "rater", password: str | None = None, *, enforce_policy: bool = False
) -> User:
    """Create a user; ``enforce_policy`` checks the password rules (the CLI and API set it).

    The demo and the tests create users with short passwords, so the rule is opt-in here.
    """
    if not isinstance(name, str):
        raise BadInput("name must be a string", {"field": "name"})
    if password is not None and enforce_policy:
        validate_password(password)
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise BadInput("user name must be 1 to 80 characters", {"field": "name"})
    parsed = parse_role(role)
    if db.session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict(f"user {name!r} already exists", {"field": "name"})
    user = User(name=name, role=parsed.value)
    if password:
        user.password_hash = generate_password_hash(password)
    db.session.add(user)
    db.session.commit()
    return user


def get_or_create_rater(name: str) -> User:
    user = db.session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, role=Role.RATER.value)
        db.session.add(user)
        db.session.flush()
    return user


def find_user(ref: str | int) -> User:
    """A user by id or name."""
    user = None
    uid = as_id(ref)
    if uid is not None:
        user = db.session.get(User, uid)
    if user is None and is_reference(str(ref), USER_NAME_MAX):
        user = db.session.scalar(select(User).where(User.name == str(ref)))
    if user is None:
        raise NotFound(f"no user {ref!r}")
    return user


@functools.cache
def _dummy_hash() -> str:
    # Same method and cost as real hashes, so a miss takes as long as a wrong password.
    return generate_password_hash(secrets.token_hex(16))


def authenticate(name: str, password: str) -> User | None:
    """The active user ``name`` when ``password`` is theirs, else None (in the same time).

    Unknown, password-less and inactive users check a dummy hash, so the answer
    takes as long as for a wrong password.
    """
    user = db.session.scalar(select(User).where(User.name == name))
    stored = user.password_hash if user is not None and user.active else None
    if len(password) > MAX_PASSWORD_LENGTH:  # nobody's password; don't hash megabytes
        stored, password = None, password[:MAX_PASSWORD_LENGTH]
    ok = check_password_hash(stored or _dummy_hash(), password)
    return user if stored and ok else None


def validate_password(password: Any, field: str = "password") -> str:
    """Return ``password`` when it meets the policy; BadInput naming ``field`` otherwise."""
    if not isinstance(password, str):
        raise BadInput(f"{field} must be a string", {"field": field})
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(
            f"{field} must be at least {MIN_PASSWORD_LENGTH} characters",
            {"field": field, "min_length": MIN_PASSWORD_LENGTH},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadInput(
            f"{field} must be at most {MAX_PASSWORD_LENGTH} characters",
            {"field": field, "max_length": MAX_PASSWORD_LENGTH},
        )
    return password


def end_sessions(user: User, *, commit: bool = True) -> None:
    """Make every session and remember cookie issued to ``user`` so far invalid."""
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user, ["session_version"])
    if commit:
        db.session.commit()


def release_leases(user: User) -> int:
    """Give back every lease ``user`` holds, in every project; the number released."""
    project_ids = db.session.scalars(
        select(Lease.project_id).where(Lease.rater_id == user.id).distinct()
    ).all()
    n = 0
    for pid in project_ids:
        project = db.session.get(Project, pid)
        if project is not None:
            n += assignment.release(project, user)
    return n


def logout(user: User) -> None:
    """Release ``user``'s leases and end every session and remember cookie they hold."""
    release_leases(user)
    end_sessions(user)


def set_password(user: User, password: str, *, enforce_policy: bool = True) -> None:
    """Set a new password (an admin's reset, or the CLI) and end the user's sessions.

    ``enforce_policy=False`` is for the demo, whose passwords are the user names.
    """
    if enforce_policy:
        validate_password(password)
    user.password_hash = generate_password_hash(password)
    end_sessions(user, commit=False)
    db.session.commit()


def change_password(user: User, old_password: str, new_password: str) -> None:
    """Self-service change: the old password must match; ends the user's other sessions."""
    validate_password(new_password, "new_password")
    if not isinstance(old_password, str) or not (
        user.password_hash and check_password_hash(user.password_hash, old_password)
    ):
        raise BadInput("old_password is wrong", {"field": "old_password"})
    set_password(user, new_password)


def set_active(user: User, active: bool) -> None:
    """Deactivate (sessions end, tokens stop working) or reactivate ``user``."""
    user.active = active
    if not active:
        release_leases(user)
        end_sessions(user, commit=False)
    db.session.commit()


def set_role(user: User, role: str) -> None:
    user.role = parse_role(role).value
    db.session.commit()


def user_dict(user: User) -> dict[str, Any]:
    """A user as the API shows it (never the password hash)."""
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "created_at": _iso(user.created_at),
    }


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.id)))


def issue_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create an API token: the row, and the clear text (returned once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(user_id=user.id, token_hash=_hash_token(token), prefix=token[:10], name=name)
    db.session.add(record)
    db.session.commit()
    return record, token


def create_token(user: User, name: str = "") -> str:
    """Create an API token; the clear text is returned once and never stored."""
    return issue_token(user, name)[1]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def token_dict(token: ApiToken) -> dict[str, Any]:
    """A token as its owner may see it: never the hash, never the clear text."""
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": _iso(token.created_at),
        "last_used_at": _iso(token.last_used_at),
    }


def list_tokens(user: User) -> list[ApiToken]:
    """The user's live (not revoked) tokens, oldest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
    )


def revoke_token(user: User, ref: str | int) -> ApiToken:
    """Revoke one of ``user``'s tokens by id or by prefix; it gets 401 from the next request."""
    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    text_ref = str(ref)
    if isinstance(ref, int) or (text_ref.isdigit() and len(text_ref) < 10):
        query = query.where(ApiToken.id == int(ref))
    elif text_ref.startswith(TOKEN_PREFIX) and len(text_ref) >= len(TOKEN_PREFIX) + 2:
        # A prefix as listed (10 characters), a shorter one, or the whole token.
        query = query.where(ApiToken.prefix.startswith(text_ref[:10], autoescape=True))
    else:
        raise NotFound(f"no token {text_ref!r} of user {user.name!r}")
    found = list(db.session.scalars(query))
    if not found:
        raise NotFound(f"no token {text_ref!r} of user {user.name!r}")
    if len(found) > 1:
        raise Conflict(f"prefix {text_ref!r} matches {len(found)} tokens; give the id")
    found[0].revoked_at = utcnow()
    db.session.commit()
    return found[0]


def user_for_token(token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    found = db.session.execute(
        select(User, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if found is None or not found[0].active:
        return None
    user, token_id, last_used = found
    now = utcnow()
    # Touch at most once a minute: the hot path should not write on every call.
    if last_used is None or (now - last_used).total_seconds() > 60:
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()
    return user


def last_token_use() -> dict[int, datetime]:
    """user id -> when any of their tokens was last used (users whose tokens never were: absent)."""
    rows = db.session.execute(
        select(ApiToken.user_id, func.max(ApiToken.last_used_at))
        .where(ApiToken.last_used_at.is_not(None))
        .group_by(ApiToken.user_id)
    ).all()
    return {int(uid): when for uid, when in rows if when is not None}


def update_user(actor: User, user: User, patch: UserPatch) -> User:
    """An admin's change to ``user``: role, password reset, (de)activation, in that order.

    Admins cannot deactivate or demote themselves (nobody would be left to undo it).
    A password reset and a deactivation end the user's sessions.
    """
    fields = patch.changes()
    if not fields:
        raise BadInput("give at least one of active, role, password", {"field": None})
    if user.id == actor.id and (fields.get("active") is False or "role" in fields):
        field = "active" if "active" in fields else "role"
        raise BadInput(f"{field}: admins cannot deactivate or demote themselves", {"field": field})
    if "role" in fields:
        set_role(user, fields["role"])
    if "password" in fields:
        set_password(user, fields["password"])
    if "active" in fields:
        set_active(user, fields["active"])
    return user
