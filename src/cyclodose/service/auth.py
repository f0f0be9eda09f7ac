"""Passwords (argon2), API tokens and browser sessions (stored hashed), CSRF, login lockout.

API tokens and session ids are 256-bit random strings, so a plain SHA-256 is the right hash
for them (nothing to brute-force); passwords are low-entropy and get argon2.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from cyclodose.service.settings import Settings
from cyclodose.service.storage import ApiToken, SessionRow, User

Role = Literal["admin", "prescriber", "pharmacist", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "prescriber", "pharmacist", "viewer")
# Who may do what: one place. Admins run the system; they read records but do not edit them.
READ_ROLES: tuple[Role, ...] = ("admin", "prescriber", "pharmacist", "viewer")
WRITE_ROLES: tuple[Role, ...] = ("prescriber", "pharmacist")
ADMIN_ROLES: tuple[Role, ...] = ("admin",)

SESSION_COOKIE = "cyclodose_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a real password, only spends the same time")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str, name: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if password.lower() == name.lower():
        return "the password must differ from the user name"
    return None


def random_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# ---- users ----------------------------------------------------------------------------------


def user_by_name(s: Session, name: str) -> User | None:
    return s.scalar(select(User).where(User.name == name))


def create_user(s: Session, name: str, role: Role, password: str | None, now: datetime,
                *, must_change_password: bool = False) -> User:
    user = User(name=name, role=role, password_hash=hash_password(password) if password else None,
                must_change_password=must_change_password, disabled=False, failed_logins=0,
                created_at=now)
    s.add(user)
    s.flush()
    return user


# ---- login with slow-down and lock ----------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    reason: str | None  # None on success
    delay_s: float = 0.0  # slow-down the caller should apply before answering


def login(s: Session, name: str, password: str, now: datetime, settings: Settings
          ) -> LoginOutcome:
    user = user_by_name(s, name)
    if user is None or user.disabled:
        check_password(None, password)  # same work whether or not the user exists
        return LoginOutcome(None, "unknown user or wrong password", settings.failure_delay_s)
    if user.locked_until is not None and user.locked_until > now:
        return LoginOutcome(user, "account locked after repeated failed logins; try later",
                            settings.failure_delay_s)
    if not check_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= settings.lock_after_failures:
            user.locked_until = now + timedelta(minutes=settings.lock_minutes)
            user.failed_logins = 0
        delay = min(2.0, settings.failure_delay_s * max(user.failed_logins, 1))
        return LoginOutcome(user, "unknown user or wrong password", delay)
    user.failed_logins = 0
    user.locked_until = None
    return LoginOutcome(user, None)


# ---- sessions and tokens --------------------------------------------------------------------


def open_session(s: Session, user: User, now: datetime, settings: Settings
                 ) -> tuple[str, SessionRow]:
    """A new session id every login (never one the client offered: no session fixation)."""
    sid = random_secret()
    row = SessionRow(id_hash=secret_hash(sid), user_id=user.id, csrf_token=random_secret(),
                     created_at=now, expires_at=now + timedelta(hours=settings.session_hours),
                     revoked_at=None)
    s.add(row)
    s.flush()
    return sid, row


def session_for(s: Session, sid: str, now: datetime) -> SessionRow | None:
    row = s.get(SessionRow, secret_hash(sid))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    return row


def create_token(s: Session, user: User, now: datetime, expires_days: float | None
                 ) -> tuple[str, ApiToken]:
    token = "cyd_" + random_secret()
    row = ApiToken(user_id=user.id, token_hash=secret_hash(token), created_at=now,
                   expires_at=now + timedelta(days=expires_days) if expires_days else None,
                   revoked_at=None)
    s.add(row)
    s.flush()
    return token, row


def user_for_token(s: Session, token: str, now: datetime) -> User | None:
    row = s.scalar(select(ApiToken).where(ApiToken.token_hash == secret_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    user = s.get(User, row.user_id)
    return None if user is None or user.disabled else user
