"""CDS Hooks JWT verification with keys generated here: what is accepted, what gets 401."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from cds_helpers import hook_request
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cyclodose.service.ehr_settings import EhrSettings

PUBLIC = "https://cds.example.org"
ISS = "https://ehr.example.org"
SERVICE = "cyclodose-patient-view"
AUD = f"{PUBLIC}/cds-services/{SERVICE}"


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {"ES384": ec.generate_private_key(ec.SECP384R1()),
            "RS384": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "other": ec.generate_private_key(ec.SECP384R1())}


def _jwk(alg: str, key: Any) -> dict[str, Any]:
    algo = jwt.get_algorithm_by_name(alg)
    jwk: dict[str, Any] = json.loads(algo.to_jwk(key.public_key()))
    return jwk | {"kid": alg.lower(), "alg": alg, "use": "sig"}


@pytest.fixture
def svc(make_service: Any, keys: dict[str, Any], tmp_path: Path) -> Any:
    jwks = tmp_path / "ehr-jwks.json"
    jwks.write_text(json.dumps({"keys": [_jwk("ES384", keys["ES384"]),
                                         _jwk("RS384", keys["RS384"])]}))
    clients = tmp_path / "cds-clients.yaml"
    clients.write_text(yaml.safe_dump([{"iss": ISS, "jwks": str(jwks)}]))
    s = make_service()
    s.app.state.ehr_settings = EhrSettings(public_url=PUBLIC, cds_clients=clients)
    return s


def _now(svc: Any) -> int:
    return int(svc.clock().timestamp())


def token(svc: Any, keys: dict[str, Any], alg: str = "ES384", *, signer: str | None = None,
          kid: str | None = None, headers: dict[str, Any] | None = None,
          **claims: Any) -> str:
    now = _now(svc)
    payload = {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 300,
               "jti": str(uuid.uuid4())} | claims
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, keys[signer or alg], algorithm=alg,
                      headers={"kid": kid or alg.lower(), "typ": "JWT"} | (headers or {}))


def _call(svc: Any, jwt_token: str | None, path: str = f"/cds-services/{SERVICE}") -> Any:
    headers = {"Authorization": f"Bearer {jwt_token}"} if jwt_token is not None else {}
    body: Any = hook_request("patient-view")
    if path.endswith("/feedback"):
        body = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "accepted",
                              "outcomeTimestamp": "2026-11-02T09:00:00Z"}]}
    return svc.client.post(path, json=body, headers=headers)


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_valid_tokens_are_accepted(svc: Any, keys: dict[str, Any], alg: str) -> None:
    r = _call(svc, token(svc, keys, alg))
    assert r.status_code == 200, r.text


def test_feedback_needs_a_valid_token_too(svc: Any, keys: dict[str, Any]) -> None:
    path = f"/cds-services/{SERVICE}/feedback"
    assert _call(svc, None, path).status_code == 401
    assert _call(svc, token(svc, keys), path).status_code == 200


def _none_token(svc: Any) -> str:
    def b64(d: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    now = _now(svc)
    return (b64({"alg": "none", "typ": "JWT"}) + "." + b64(
        {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 300, "jti": "n1"}) + ".")


REFUSED = {
    "expired": lambda s, k: token(s, k, iat=_now(s) - 600, exp=_now(s) - 61),
    "not yet valid": lambda s, k: token(s, k, iat=_now(s) + 120, exp=_now(s) + 400),
    "wrong audience": lambda s, k: token(s, k, aud=f"{PUBLIC}/cds-services/other"),
    "audience of another service": lambda s, k: token(
        s, k, aud=f"{PUBLIC}/cds-services/cyclodose-order-select"),
    "unknown issuer": lambda s, k: token(s, k, iss="https://evil.example.org"),
    "alg none": lambda s, k: _none_token(s),
    "HS256": lambda s, k: jwt.encode({"iss": ISS, "aud": AUD, "iat": _now(s),
                                      "exp": _now(s) + 300, "jti": "h1"},
                                     "a-shared-secret-of-at-least-32-bytes!", algorithm="HS256"),
    "bad signature": lambda s, k: token(s, k, signer="other"),
    "tampered payload": lambda s, k: _tamper(token(s, k)),
    "ES256": lambda s, k: jwt.encode({"iss": ISS, "aud": AUD, "iat": _now(s),
                                      "exp": _now(s) + 300, "jti": "e1"},
                                     ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"),
    "no jti": lambda s, k: token(s, k, jti=None),
    "no exp": lambda s, k: token(s, k, exp=None),
    "unknown kid": lambda s, k: token(s, k, kid="nope"),
    "jku not allow-listed": lambda s, k: token(
        s, k, headers={"jku": "https://evil.example.org/jwks.json"}),
    "not a JWT": lambda s, k: "not-a-jwt",
}


def _tamper(t: str) -> str:
    head, payload, sig = t.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["iss"] = ISS
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_with_401(svc: Any, keys: dict[str, Any], case: str) -> None:
    r = _call(svc, REFUSED[case](svc, keys))
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_missing_authorization_header_is_401(svc: Any) -> None:
    assert _call(svc, None).status_code == 401


def test_skew_of_60_seconds_is_tolerated(svc: Any, keys: dict[str, Any]) -> None:
    assert _call(svc, token(svc, keys, iat=_now(svc) + 50)).status_code == 200
    assert _call(svc, token(svc, keys, exp=_now(svc) - 50)).status_code == 200


def test_replayed_jti_is_refused_even_after_a_restart(svc: Any, keys: dict[str, Any],
                                                      make_service: Any) -> None:
    t = token(svc, keys)
    assert _call(svc, t).status_code == 200
    assert _call(svc, t).status_code == 401
    # a new app on the same database (a restart) still knows the jti
    from fastapi.testclient import TestClient

    from cyclodose.service.app import create_app

    again = create_app(svc.settings, clock=svc.clock)
    again.state.ehr_settings = svc.app.state.ehr_settings
    with TestClient(again) as client:
        r = client.post(f"/cds-services/{SERVICE}", json=hook_request("patient-view"),
                        headers={"Authorization": f"Bearer {t}"})
    assert r.status_code == 401 and "replay" in r.json()["detail"]


def test_no_public_url_refuses_rather_than_guessing_the_audience(svc: Any,
                                                                 keys: dict[str, Any]) -> None:
    svc.app.state.ehr_settings = svc.app.state.ehr_settings.model_copy(
        update={"public_url": None})
    assert _call(svc, token(svc, keys)).status_code == 401


def test_clients_file_rejects_http_jwks_urls(tmp_path: Path) -> None:
    from cyclodose.service.cds_auth import load_clients

    bad = tmp_path / "c.yaml"
    bad.write_text(yaml.safe_dump([{"iss": ISS, "jwks": "http://ehr.example.org/jwks"}]))
    with pytest.raises(ValueError, match="https"):
        load_clients(bad)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_jti_is_recorded_once_and_its_replay_refused_on_both_databases(
        make_service: Any, keys: dict[str, Any], tmp_path: Path, dialect: str,
        request: pytest.FixtureRequest) -> None:
    """The jti insert is one INSERT … ON CONFLICT DO NOTHING per dialect: a first use is
    stored (one row), a second is refused with 401 and stores nothing, and an expired jti is
    purged while a fresh token is still accepted."""
    from sqlalchemy import func, select

    from cyclodose.service.cds_auth import CdsJti

    url = request.getfixturevalue("pg_url") if dialect == "postgresql" else None
    jwks = tmp_path / f"jwks-{dialect}.json"
    jwks.write_text(json.dumps({"keys": [_jwk("ES384", keys["ES384"])]}))
    clients = tmp_path / f"clients-{dialect}.yaml"
    clients.write_text(yaml.safe_dump([{"iss": ISS, "jwks": str(jwks)}]))
    s = make_service(url)
    s.app.state.ehr_settings = EhrSettings(public_url=PUBLIC, cds_clients=clients)

    def rows() -> int:
        with s.db.session() as db:
            return int(db.scalar(select(func.count()).select_from(CdsJti)) or 0)

    first = token(s, keys, exp=_now(s) + 30)
    assert _call(s, first).status_code == 200
    assert rows() == 1
    replay = _call(s, first)
    assert replay.status_code == 401 and "replay" in replay.json()["detail"]
    assert rows() == 1
    s.clock.advance(minutes=5)  # the first jti is long expired: purged on the next call
    assert _call(s, token(s, keys)).status_code == 200
    assert rows() == 1


def test_the_jti_is_committed_before_the_hook_computes(svc: Any, keys: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Another connection sees the jti while the call is still computing: the write
    transaction of the replay check has ended, so concurrent calls do not queue behind it."""
    from sqlalchemy import func, select

    from cyclodose.service.cds_auth import CdsJti
    from cyclodose.service.routes import cds_hooks

    seen: list[int] = []
    fetch = cds_hooks._fetch_missing

    def fetch_and_look(*args: Any, **kwargs: Any) -> Any:
        with svc.db.session() as db:
            seen.append(int(db.scalar(select(func.count()).select_from(CdsJti)) or 0))
        return fetch(*args, **kwargs)

    monkeypatch.setattr(cds_hooks, "_fetch_missing", fetch_and_look)
    assert _call(svc, token(svc, keys)).status_code == 200
    assert seen == [1]
