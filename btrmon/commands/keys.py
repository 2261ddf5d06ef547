"""``keys create|list|revoke``: ingest API keys."""

from __future__ import annotations

from btrmon import keys
from btrmon.commands import DB_OPTION


def add_parser(sub) -> None:
    """Register ``keys`` and its sub-commands."""
    parser = sub.add_parser("keys", help="manage ingest API keys", parents=[DB_OPTION])
    actions = parser.add_subparsers(dest="action", metavar="action")
    actions.required = True
    create = actions.add_parser("create", help="create a key; prints it alone on the last line", parents=[DB_OPTION])
    create.add_argument("--name", default="default", help="a label for the key")
    create.set_defaults(run=run_create)
    listing = actions.add_parser("list", help="list keys (never the keys themselves)", parents=[DB_OPTION])
    listing.set_defaults(run=run_list)
    revoke = actions.add_parser("revoke", help="revoke a key by id or name", parents=[DB_OPTION])
    revoke.add_argument("key", help="key id (the part after btr_) or name")
    revoke.set_defaults(run=run_revoke)


def run_create(args, ctx) -> int:
    """Create a key and print it last."""
    key = keys.create_key(ctx.monitor, args.name)
    ctx.print(f"Created API key {args.name!r}. Store it now: it is not shown again.")
    ctx.print(key)
    return 0


def run_list(args, ctx) -> int:
    """Print the keys as a table."""
    rows = keys.list_keys(ctx.monitor)
    ctx.print(f"{'KEY ID':<10} {'NAME':<20} {'CREATED (UTC)':<20} {'STATUS':<8} LAST USED")
    for r in rows:
        status = "revoked" if r["revoked_at"] else "active"
        created = r["created_at"].strftime("%Y-%m-%d %H:%M:%S")
        last = r["last_used_at"].strftime("%Y-%m-%d %H:%M") if r["last_used_at"] else "-"
        ctx.print(f"{r['key_id']:<10} {r['name']:<20} {created:<20} {status:<8} {last}")
    if not rows:
        ctx.print("no keys yet: python -m btrmon keys create --name myapp")
    return 0


def run_revoke(args, ctx) -> int:
    """Revoke keys by id or name."""
    count = keys.revoke_key(ctx.monitor, args.key)
    if not count:
        ctx.print(f"no active key with id or name {args.key!r}")
        return 1
    ctx.print(f"revoked {count} key(s)")
    return 0
