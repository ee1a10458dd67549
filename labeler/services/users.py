"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from labeler.extensions import db
from labeler.models import ApiToken, Role, User
from labeler.models.types import utcnow
from labeler.services.errors import BadInput, Conflict, NotFound
from labeler.services.inputs import USER_NAME_MAX, as_id, is_reference

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


def create_user(name: str, role: str = "rater", password: str | None = None) -> User:
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


def authenticate(name: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.name == name))
    if user is None or not user.password_hash or not user.active:
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = generate_password_hash(password)
    db.session.commit()


def create_token(user: User, name: str = "") -> str:
    """Create an API token; the clear text is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(user_id=user.id, token_hash=_hash_token(token), prefix=token[:10], name=name)
    )
    db.session.commit()
    return token


def user_for_token(token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    found = db.session.execute(
        select(User, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _hash_token(token))
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
