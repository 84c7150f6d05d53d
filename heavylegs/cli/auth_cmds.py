"""``heavylegs auth``: make the login secrets of the web endpoint (``[service.auth]``)."""
from __future__ import annotations

import secrets
import sys

import click

MIN_PASSWORD_CHARS = 10


@click.group("auth")
def auth_group() -> None:
    """Login secrets for the web endpoint (service.auth)."""


@auth_group.command("hash-password")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from the first line of stdin instead of prompting.")
def hash_password_cmd(from_stdin: bool) -> None:
    """Print the scrypt hash of a login password, for service.auth.password_hash.

    \b
    Examples:
      heavylegs auth hash-password                      # asks twice, prints scrypt$...
      heavylegs auth hash-password > ~/.config/heavylegs/password.hash   # then password_hash_file
    The password itself is never stored.
    """
    from heavylegs.service.auth import hash_password  # cryptography is slow to import; only here

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    if len(password) < MIN_PASSWORD_CHARS:
        raise click.UsageError(f"use at least {MIN_PASSWORD_CHARS} characters")
    click.echo(hash_password(password))


@auth_group.command("new-token")
def new_token_cmd() -> None:
    """Print a new random token, for service.auth.token (scripts send it as a bearer token).

    \b
    Examples:
      heavylegs auth new-token > ~/.config/heavylegs/token     # then token_file
      curl -H "Authorization: Bearer $(cat ~/.config/heavylegs/token)" http://127.0.0.1:8080/metrics
    """
    click.echo(secrets.token_urlsafe(32))  # 43 characters, 256 bits


def register(main: click.Group) -> None:
    main.add_command(auth_group)
