"""``labeler user ...``: users, passwords and API tokens from the command line.

Kept apart from ``cli.py`` so account commands can grow without that module
growing; every command calls one function of ``services/users.py``, the same
ones the API calls.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("user")
def user_group() -> None:
    """Users and API tokens."""


@user_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "engineer", "sme", "rater"]), default="rater")
@click.option("--password", default=None, help="Omit for a token-only user.")
@click.option("--token", is_flag=True, help="Also create an API token and print it last.")
@with_appcontext
def user_create(name: str, role: str, password: str | None, token: bool) -> None:
    """Create a user NAME."""
    from labeler.services import users

    created = users.create_user(name, role, password, enforce_policy=True)
    click.echo(f"created user {created.name} ({created.role}), id {created.id}")
    if token:
        click.echo(users.create_token(created, "cli"))


@user_group.command("token")
@click.argument("name")
@click.option("--name", "token_name", default="cli", help="A name to tell the token apart.")
@with_appcontext
def user_token(name: str, token_name: str) -> None:
    """Print a new API token for user NAME."""
    from labeler.services import users

    click.echo(users.create_token(users.find_user(name), token_name))


@user_group.command("tokens")
@click.argument("name")
@with_appcontext
def user_tokens(name: str) -> None:
    """List NAME's live tokens: id, prefix, name, created, last used (never the token)."""
    from labeler.services import users

    click.echo("id\tprefix\tname\tcreated_at\tlast_used_at")
    for tok in users.list_tokens(users.find_user(name)):
        row = users.token_dict(tok)
        click.echo(
            f"{row['id']}\t{row['prefix']}\t{row['name']}\t{row['created_at']}\t"
            f"{row['last_used_at'] or '-'}"
        )


@user_group.command("revoke-token")
@click.argument("name")
@click.argument("token_ref", metavar="TOKEN_ID|PREFIX")
@with_appcontext
def user_revoke_token(name: str, token_ref: str) -> None:
    """Revoke one of NAME's tokens (by id or prefix); it stops working at once."""
    from labeler.services import users

    revoked = users.revoke_token(users.find_user(name), token_ref)
    click.echo(f"revoked token {revoked.id} ({revoked.prefix}) of {name}")


@user_group.command("deactivate")
@click.argument("name")
@with_appcontext
def user_deactivate(name: str) -> None:
    """Deactivate NAME: their sessions end, their tokens fail, they cannot log in."""
    from labeler.services import users

    users.set_active(users.find_user(name), False)
    click.echo(f"deactivated {name}")


@user_group.command("activate")
@click.argument("name")
@with_appcontext
def user_activate(name: str) -> None:
    """Let a deactivated NAME log in and use their tokens again."""
    from labeler.services import users

    users.set_active(users.find_user(name), True)
    click.echo(f"activated {name}")


@user_group.command("set-password")
@click.argument("name")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The new password (prompted for when omitted).",
)
@with_appcontext
def user_set_password(name: str, password: str) -> None:
    """Set NAME's password (at least 8 characters); ends their sessions."""
    from labeler.services import users

    users.set_password(users.find_user(name), password)
    click.echo(f"password of {name} changed; their sessions have ended")


@user_group.command("logout")
@click.argument("name")
@with_appcontext
def user_logout(name: str) -> None:
    """Log NAME out everywhere (sessions and remember cookies; tokens stay)."""
    from labeler.services import users

    users.logout(users.find_user(name))
    click.echo(f"ended every session of {name}")
