"""Dashboard users: salted scrypt password hashes, roles, the first admin.

Roles: ``viewer`` reads every page; ``admin`` also changes settings, resolves
errors, acknowledges alerts and runs recovery actions (the seed's ``manage_options``).
Writes go through the monitor's writer; reads use the read cursor.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets

from btrmon.store import utcnow

ROLES: tuple[str, ...] = ("viewer", "admin")
MIN_PASSWORD_LENGTH = 8
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
# scrypt cost: ~50 ms and 16 MB per hash on these machines (slow for guessing, fine for login).
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex) of ``password`` with a fresh random salt."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                                  p=int(p), dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


_DUMMY_HASH = hash_password(secrets.token_hex(8))


def _check_username(username: str) -> str:
    if not isinstance(username, str) or not _USERNAME_RE.match(username):
        raise ValueError("username: 1 to 64 letters, digits or _ . @ -")
    return username


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role: must be one of {', '.join(ROLES)}")
    return role


def get_user(monitor, username: str) -> dict | None:
    """``{username, role, password_hash, created_at}`` or None."""
    found = monitor.db.query(
        "SELECT username, role, password_hash, created_at FROM users WHERE username = ?", [username])
    if not found:
        return None
    name, role, password_hash, created_at = found[0]
    return {"username": name, "role": role, "password_hash": password_hash, "created_at": created_at}


def list_users(monitor) -> list[dict]:
    """Every user (without hashes), by name."""
    found = monitor.db.query("SELECT username, role, created_at FROM users ORDER BY username")
    return [{"username": u, "role": r, "created_at": c} for u, r, c in found]


def create_user(monitor, username: str, password: str, role: str = "viewer") -> None:
    """Add a user; ValueError naming the field when invalid or the name is taken."""
    _check_username(username), _check_password(password), _check_role(role)
    password_hash = hash_password(password)

    def insert(con) -> None:
        if con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchall():
            raise ValueError(f"username: {username!r} already exists")
        con.execute("INSERT INTO users VALUES (?, ?, ?, ?)", [username, password_hash, role, utcnow()])

    monitor.writer.call(insert)


def set_password(monitor, username: str, password: str) -> None:
    """Replace a user's password (existing logins of that user end)."""
    _check_password(password)
    password_hash = hash_password(password)

    def update(con) -> int:
        return len(con.execute("UPDATE users SET password_hash = ? WHERE username = ? RETURNING 1",
                               [password_hash, username]).fetchall())

    if not monitor.writer.call(update):
        raise ValueError(f"username: no user {username!r}")


def set_role(monitor, username: str, role: str) -> None:
    """Change a user's role."""
    _check_role(role)
    changed = monitor.writer.call(lambda con: len(con.execute(
        "UPDATE users SET role = ? WHERE username = ? RETURNING 1", [role, username]).fetchall()))
    if not changed:
        raise ValueError(f"username: no user {username!r}")


def delete_user(monitor, username: str) -> None:
    """Remove a user; refuses to remove the last admin."""

    def delete(con) -> None:
        found = con.execute("SELECT role FROM users WHERE username = ?", [username]).fetchall()
        if not found:
            raise ValueError(f"username: no user {username!r}")
        admins = con.execute("SELECT count(*) FROM users WHERE role = 'admin'").fetchall()[0][0]
        if found[0][0] == "admin" and admins <= 1:
            raise ValueError(f"username: {username!r} is the last admin; create another admin first")
        con.execute("DELETE FROM users WHERE username = ?", [username])

    monitor.writer.call(delete)


def authenticate(monitor, username: str, password: str) -> dict | None:
    """The user when ``password`` is right, else None (same work for unknown names)."""
    user = get_user(monitor, username) if isinstance(username, str) and _USERNAME_RE.match(username) else None
    if user is None:
        check_password(password or "", _DUMMY_HASH)
        return None
    return user if check_password(password or "", user["password_hash"]) else None


def ensure_admin(monitor, username: str = "admin") -> str | None:
    """When no user exists, create admin ``username`` with ``BTRMON_ADMIN_PASSWORD`` or a
    random password; returns the password to print once (None when users exist)."""
    if monitor.db.query("SELECT 1 FROM users LIMIT 1"):
        return None
    password = os.environ.get("BTRMON_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    create_user(monitor, username, password, "admin")
    return password
