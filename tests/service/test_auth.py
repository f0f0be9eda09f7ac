"""Sign-in, sessions, CSRF, tokens, roles and the named attacks on them."""

from __future__ import annotations

from service_cases import new_patient
from sqlalchemy import select

from cyclodose.service import auth
from cyclodose.service.storage import ApiToken, AuditEntry, User
from service_fixtures import PASSWORD


def test_login_sets_an_httponly_samesite_cookie_and_returns_a_csrf_token(service):
    service.user("pat", "pharmacist")
    r = service.client.post("/api/v1/auth/login", json={"name": "pat", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "pat" and body["role"] == "pharmacist" and body["csrf_token"]
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert service.client.get("/api/v1/auth/me").json()["name"] == "pat"


def test_cookie_is_secure_behind_https(make_service):
    svc = make_service(public_url="https://cyclodose.example.org")
    svc.user("pat", "pharmacist")
    r = svc.client.post("/api/v1/auth/login", json={"name": "pat", "password": PASSWORD})
    assert "secure" in r.headers["set-cookie"].lower()


def test_wrong_password_is_401_and_audited(service):
    service.user("pat", "pharmacist")
    r = service.client.post("/api/v1/auth/login", json={"name": "pat", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["title"] == "Not authenticated"
    with service.db.session() as s:
        actions = list(s.scalars(select(AuditEntry.action)))
    assert actions == ["login.failed"]


def test_login_bad_input_is_422(service):
    r = service.client.post("/api/v1/auth/login", json={"name": ""})
    assert r.status_code == 422
    assert {p["field"] for p in r.json()["problems"]} == {"name", "password"}


def test_repeated_failures_lock_the_account_for_a_while(service):
    """Brute force on a password: after 5 failures even the right password is refused until
    the lock expires."""
    service.user("pat", "pharmacist")
    service.settings.failure_delay_s = 0.0
    for _ in range(service.settings.lock_after_failures):
        assert service.client.post("/api/v1/auth/login",
                                   json={"name": "pat", "password": "guess"}).status_code == 401
    r = service.client.post("/api/v1/auth/login", json={"name": "pat", "password": PASSWORD})
    assert r.status_code == 401 and "locked" in r.json()["detail"]
    service.clock.advance(minutes=service.settings.lock_minutes + 1)
    r = service.client.post("/api/v1/auth/login", json={"name": "pat", "password": PASSWORD})
    assert r.status_code == 200


def test_failed_logins_slow_down(service):
    service.user("pat", "pharmacist")
    with service.db.session() as s:
        outcomes = [auth.login(s, "pat", "bad", service.clock(), service.settings).delay_s
                    for _ in range(3)]
    assert outcomes == sorted(outcomes) and outcomes[0] < outcomes[-1]


def test_session_fixation_a_planted_session_id_is_never_adopted(service):
    service.user("pat", "pharmacist")
    planted = "attacker-chosen-session-id"
    r = service.client.post("/api/v1/auth/login", json={"name": "pat", "password": PASSWORD},
                            headers={"Cookie": f"{auth.SESSION_COOKIE}={planted}"})
    issued = r.cookies.get(auth.SESSION_COOKIE)
    assert r.status_code == 200 and issued and issued != planted
    other = service.client.__class__(service.app)
    assert other.get("/api/v1/auth/me", headers={
        "Cookie": f"{auth.SESSION_COOKIE}={planted}"}).status_code == 401
    assert other.get("/api/v1/auth/me", headers={
        "Cookie": f"{auth.SESSION_COOKIE}={issued}"}).status_code == 200


def test_session_fixation_an_old_session_dies_at_the_next_login(service):
    service.user("pat", "pharmacist")
    service.login("pat")
    first = service.client.cookies.get(auth.SESSION_COOKIE)
    service.login("pat")
    probe = service.client.__class__(service.app)
    assert probe.get("/api/v1/auth/me", headers={
        "Cookie": f"{auth.SESSION_COOKIE}={first}"}).status_code == 401


def test_csrf_a_cookie_request_without_the_token_is_refused(service):
    service.user("pat", "pharmacist")
    csrf = service.login("pat")
    r = service.client.post("/api/v1/patients", json=new_patient())
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = service.client.post("/api/v1/patients", json=new_patient(),
                            headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = service.client.post("/api/v1/patients", json=new_patient(),
                            headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201


def test_csrf_token_in_a_form_field_is_accepted(service):
    service.user("pat", "pharmacist")
    csrf = service.login("pat")
    r = service.client.post("/api/v1/auth/logout", data={"csrf_token": "wrong"})
    assert r.status_code == 403
    r = service.client.post("/api/v1/auth/logout", data={"csrf_token": csrf})
    assert r.status_code == 204
    assert service.client.get("/api/v1/auth/me").status_code == 401


def test_bearer_requests_need_no_csrf_token(service):
    headers = service.token("pat", "pharmacist")
    assert service.client.post("/api/v1/patients", json=new_patient(),
                               headers=headers).status_code == 201


def test_token_brute_force_guessed_tokens_never_authenticate(service):
    service.token("pat", "pharmacist")
    for guess in ("cyd_", "cyd_" + "A" * 43, "' OR '1'='1", "cyd_" + "a" * 200, "null"):
        r = service.client.get("/api/v1/patients", headers={"Authorization": f"Bearer {guess}"})
        assert r.status_code == 401
    with service.db.session() as s:  # only the hash is stored: the table cannot leak tokens
        stored = s.scalar(select(ApiToken.token_hash))
    assert stored is not None and len(stored) == 64 and not stored.startswith("cyd_")


def test_revoked_and_expired_tokens_are_refused(service):
    service.user("pat", "pharmacist")
    with service.db.session() as s:
        user = auth.user_by_name(s, "pat")
        revoked, row = auth.create_token(s, user, service.clock(), None)
        row.revoked_at = service.clock()
        short, _ = auth.create_token(s, user, service.clock(), 1)
    assert service.client.get("/api/v1/patients", headers={
        "Authorization": f"Bearer {revoked}"}).status_code == 401
    assert service.client.get("/api/v1/patients", headers={
        "Authorization": f"Bearer {short}"}).status_code == 200
    service.clock.advance(days=2)
    assert service.client.get("/api/v1/patients", headers={
        "Authorization": f"Bearer {short}"}).status_code == 401


def test_a_disabled_user_loses_tokens_and_login(service):
    headers = service.token("pat", "pharmacist")
    with service.db.session() as s:
        auth.user_by_name(s, "pat").disabled = True
    assert service.client.get("/api/v1/patients", headers=headers).status_code == 401
    assert service.client.post("/api/v1/auth/login", json={
        "name": "pat", "password": PASSWORD}).status_code == 401


def test_one_time_password_must_be_changed_before_anything_else(service):
    service.user("admin", "admin", password="one-time-pass-123", must_change_password=True)
    csrf = service.login("admin", "one-time-pass-123")
    me = service.client.get("/api/v1/auth/me").json()
    assert me["must_change_password"] is True
    r = service.client.get("/api/v1/audit")
    assert r.status_code == 403 and "password" in r.json()["detail"]
    r = service.client.post("/api/v1/auth/password", headers={"X-CSRF-Token": csrf},
                            json={"current_password": "one-time-pass-123",
                                  "new_password": "short"})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "new_password"
    r = service.client.post("/api/v1/auth/password", headers={"X-CSRF-Token": csrf},
                            json={"current_password": "wrong", "new_password": "a-good-one-42"})
    assert r.status_code == 403
    r = service.client.post("/api/v1/auth/password", headers={"X-CSRF-Token": csrf},
                            json={"current_password": "one-time-pass-123",
                                  "new_password": "a-good-one-42"})
    assert r.status_code == 200 and r.json()["must_change_password"] is False
    assert service.client.get("/api/v1/audit").status_code == 200
    with service.db.session() as s:
        assert s.scalar(select(User.must_change_password).where(User.name == "admin")) is False


def test_passwords_are_stored_as_argon2_hashes(service):
    service.user("pat", "pharmacist")
    with service.db.session() as s:
        stored = s.scalar(select(User.password_hash).where(User.name == "pat"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_me_and_logout_need_a_session(service):
    assert service.client.get("/api/v1/auth/me").status_code == 401
    assert service.client.post("/api/v1/auth/logout").status_code == 401
