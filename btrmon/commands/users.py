"""``users create|list|delete|set-password``: dashboard logins (roles viewer, admin)."""

from __future__ import annotations

import secrets

from btrmon import users
from btrmon.commands import DB_OPTION


def add_parser(sub) -> None:
    """Register ``users`` and its sub-commands."""
    parser = sub.add_parser("users", help="manage dashboard users", parents=[DB_OPTION])
    actions = parser.add_subparsers(dest="action", metavar="action")
    actions.required = True
    create = actions.add_parser("create", help="create a user (prints a random password unless --password)",
                                parents=[DB_OPTION])
    create.add_argument("username")
    create.add_argument("--role", choices=users.ROLES, default="viewer")
    create.add_argument("--password", help=f"at least {users.MIN_PASSWORD_LENGTH} characters (default: random, printed)")
    create.set_defaults(run=run_create)
    listing = actions.add_parser("list", help="list users and roles", parents=[DB_OPTION])
    listing.set_defaults(run=run_list)
    delete = actions.add_parser("delete", help="delete a user (not the last admin)", parents=[DB_OPTION])
    delete.add_argument("username")
    delete.set_defaults(run=run_delete)
    password = actions.add_parser("set-password", help="set a new password (random unless --password)",
                                  parents=[DB_OPTION])
    password.add_argument("username")
    password.add_argument("--password")
    password.set_defaults(run=run_set_password)


def _password(args, ctx) -> tuple[str, bool]:
    if args.password:
        return args.password, False
    return secrets.token_urlsafe(12), True


def run_create(args, ctx) -> int:
    """Create a user."""
    password, generated = _password(args, ctx)
    users.create_user(ctx.monitor, args.username, password, args.role)
    ctx.print(f"created {args.role} {args.username!r}")
    if generated:
        ctx.print(f"password (shown once): {password}")
    return 0


def run_list(args, ctx) -> int:
    """Print the users as a table."""
    rows = users.list_users(ctx.monitor)
    ctx.print(f"{'USERNAME':<24} {'ROLE':<8} CREATED (UTC)")
    for r in rows:
        ctx.print(f"{r['username']:<24} {r['role']:<8} {r['created_at']:%Y-%m-%d %H:%M:%S}")
    if not rows:
        ctx.print("no users yet: python -m btrmon users create NAME --role admin")
    return 0


def run_delete(args, ctx) -> int:
    """Delete a user."""
    users.delete_user(ctx.monitor, args.username)
    ctx.print(f"deleted {args.username!r}")
    return 0


def run_set_password(args, ctx) -> int:
    """Set a user's password."""
    password, generated = _password(args, ctx)
    users.set_password(ctx.monitor, args.username, password)
    ctx.print(f"password of {args.username!r} changed")
    if generated:
        ctx.print(f"new password (shown once): {password}")
    return 0
