"""CDS Hooks 2.0 client authentication: the EHR's signed JWT on every hook and feedback call.

- Issuers and their keys are allow-listed in the YAML file named by CYCLODOSE_CDS_CLIENTS:
  a list of `{iss, jwks}`, `jwks` a file path or an https URL (a JWK Set). A `jku` header is
  honoured only when it equals the issuer's allow-listed URL.
- Only RS384 and ES384 (CDS Hooks 2.0 "Trusting CDS Clients"); `none` and HMAC are refused.
- `aud` is the exact URL being called, built from CYCLODOSE_PUBLIC_URL.
- `exp` and `iat` within 60 s of the service clock; `jti` never accepted twice before it
  expires (stored in the database, so a restart does not forget it).
- CYCLODOSE_CDS_INSECURE=1 turns this off for development, with a warning on every call.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt
import yaml
from fastapi import HTTPException, Request
from sqlalchemy import String, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from cyclodose.service.storage import Base
from cyclodose.service.storage.tables import UTCDateTime

log = logging.getLogger("cyclodose.service.cds")

ALGORITHMS = ("RS384", "ES384")
SKEW = timedelta(seconds=60)
INSECURE_WARNING = ("CYCLODOSE_CDS_INSECURE=1: CDS Hooks calls are NOT authenticated; "
                    "any caller can read cards about any patient. Development only.")


class CdsJti(Base):
    __tablename__ = "cds_jti"

    iss: Mapped[str] = mapped_column(String(500), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def _refuse(reason: str) -> HTTPException:
    return HTTPException(401, f"CDS client authentication failed: {reason}",
                         headers={"WWW-Authenticate": 'Bearer realm="cds-services"'})


@dataclass(frozen=True)
class Client:
    iss: str
    jwks: str  # a file path or an https URL

    @property
    def url(self) -> str | None:
        return self.jwks if self.jwks.startswith("https://") else None

    @cached_property
    def _file_keys(self) -> jwt.PyJWKSet:
        return jwt.PyJWKSet.from_dict(json.loads(Path(self.jwks).read_text("utf-8")))

    @cached_property
    def _url_client(self) -> jwt.PyJWKClient:
        return jwt.PyJWKClient(self.jwks, cache_keys=True, lifespan=300, timeout=5)

    def key(self, header: dict[str, Any]) -> Any:
        kid = header.get("kid")
        if self.url is not None:
            try:
                keys = self._url_client.get_jwk_set().keys
            except jwt.PyJWKClientError as exc:
                raise _refuse(f"the issuer's keys could not be fetched ({exc})") from None
        else:
            keys = self._file_keys.keys
        matching = [k for k in keys if kid is None or k.key_id == kid]
        if not matching:
            raise _refuse(f"no key {kid!r} in the issuer's JWK Set")
        if len(matching) > 1:
            raise _refuse("several keys match: the JWT needs a kid")
        return matching[0].key


def load_clients(path: Path | None) -> dict[str, Client]:
    if path is None:
        return {}
    data = yaml.safe_load(Path(path).read_text("utf-8")) or []
    if not isinstance(data, list):
        raise ValueError(f"{path}: a list of {{iss, jwks}} is expected")
    clients: dict[str, Client] = {}
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or not entry.get("iss") or not entry.get("jwks"):
            raise ValueError(f"{path}[{i}]: iss and jwks are required")
        jwks = str(entry["jwks"])
        if "://" in jwks and not jwks.startswith("https://"):
            raise ValueError(f"{path}[{i}].jwks: a URL must be https")
        if "://" not in jwks and not Path(jwks).is_absolute():
            jwks = str((Path(path).parent / jwks).resolve())
        clients[str(entry["iss"])] = Client(iss=str(entry["iss"]), jwks=jwks)
    return clients


def _time(claims: dict[str, Any], name: str) -> datetime:
    value = claims.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _refuse(f"{name} missing or not a number")
    return datetime.fromtimestamp(value, UTC)


def verify(token: str, *, audiences: set[str], clients: dict[str, Client], now: datetime,
           session: Session) -> dict[str, Any]:
    """The verified claims, or 401. Records the jti so that it is never accepted again."""
    try:
        unverified_jwt = jwt.decode_complete(token, options={"verify_signature": False})
        header, unverified = unverified_jwt["header"], unverified_jwt["payload"]
    except jwt.PyJWTError:
        raise _refuse("not a JWT") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise _refuse(f"algorithm {alg!r} is not accepted (only RS384 or ES384)")
    iss = unverified.get("iss")
    client = clients.get(iss) if isinstance(iss, str) else None
    if client is None:
        raise _refuse("unknown issuer")
    if "jku" in header and header["jku"] != client.url:
        raise _refuse("jku is not the issuer's allow-listed JWK Set URL")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, client.key(header), algorithms=[alg], audience=sorted(audiences),
            issuer=client.iss,
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                     "require": ["iss", "aud", "exp", "iat", "jti"]})
    except jwt.InvalidAudienceError:
        raise _refuse("aud is not this service's URL") from None
    except jwt.PyJWTError as exc:
        raise _refuse(type(exc).__name__) from None
    exp, iat = _time(claims, "exp"), _time(claims, "iat")
    if exp < now - SKEW:
        raise _refuse("expired")
    if iat > now + SKEW or ("nbf" in claims and _time(claims, "nbf") > now + SKEW):
        raise _refuse("not valid yet (iat or nbf in the future)")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 200:
        raise _refuse("jti missing or too long")
    # No jti row is ever loaded in a session: nothing for the ORM to synchronise.
    session.execute(delete(CdsJti).where(CdsJti.expires_at < now - SKEW),
                    execution_options={"synchronize_session": False})
    if not _record_jti(session, client.iss, jti, exp):
        raise _refuse("jti already used (replay)")
    return claims


def _record_jti(session: Session, iss: str, jti: str, expires_at: datetime) -> bool:
    """Store the jti; False if it is already there. One INSERT … ON CONFLICT DO NOTHING: the
    primary key decides atomically, with no savepoint and no ORM flush per call."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = session.scalar(dialect.insert(CdsJti)
                              .values(iss=iss, jti=jti, expires_at=expires_at)
                              .on_conflict_do_nothing().returning(CdsJti.jti))
    return inserted is not None


def bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refuse("Authorization: Bearer <JWT> missing")
    return token.strip()
