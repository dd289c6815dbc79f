"""Passwords, sessions and login throttling of the service page (agent/service/auth.py)."""

from __future__ import annotations

import json
import stat

import pytest

from agent.service.auth import LoginThrottle, PasswordError, PasswordFile, Sessions, csrf_ok


@pytest.fixture
def passwords(tmp_path):
    return PasswordFile(tmp_path / "service-page" / "passwords.json")


async def test_a_password_is_stored_as_an_argon2id_hash_only_the_owner_reads(passwords):
    passwords.set("installer", "correct horse battery")
    text = passwords.path.read_text()
    assert "correct horse battery" not in text
    assert json.loads(text)["installer"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # RFC 9106 low memory
    assert stat.S_IMODE(passwords.path.stat().st_mode) == 0o600
    assert await passwords.verify_async("installer", "correct horse battery")
    assert not await passwords.verify_async("installer", "correct horse batterY")


async def test_a_role_without_a_password_cannot_log_in(passwords):
    assert passwords.roles() == []
    assert not await passwords.verify_async("installer", "")
    passwords.set("installer", "correct horse battery")
    assert passwords.roles() == ["installer"]
    assert not await passwords.verify_async("support", "correct horse battery")


@pytest.mark.parametrize("password", ["short", "installer", "aaaaaaaaaaaa", "CP-TEST-1", "x" * 300])
def test_weak_passwords_are_refused(passwords, password):
    with pytest.raises(PasswordError):
        passwords.set("installer", password, charge_point_id="CP-TEST-1")
    assert not passwords.path.exists()


def test_sessions_expire_after_their_lifetime_whatever_is_done(tmp_path):
    now = [1000.0]
    sessions = Sessions(tmp_path / "sessions.json", lifetime_s=60, now=lambda: now[0])
    token, session = sessions.create("installer", "10.0.0.2")
    now[0] = 1059.0
    assert sessions.get(token) == (session, False)
    now[0] = 1060.0
    assert sessions.get(token) == (None, True)  # expired: said so, once
    assert sessions.get(token) == (None, False)


def test_a_clock_set_back_ends_a_session(tmp_path):
    now = [1000.0]
    sessions = Sessions(tmp_path / "sessions.json", lifetime_s=60, now=lambda: now[0])
    token, _ = sessions.create("installer", "10.0.0.2")
    now[0] = 900.0
    assert sessions.get(token) == (None, True)


def test_sessions_survive_a_restart_and_only_their_hash_is_stored(tmp_path):
    path = tmp_path / "sessions.json"
    token, session = Sessions(path, lifetime_s=60).create("support", "10.0.0.2")
    assert token not in path.read_text() and stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Sessions(path, lifetime_s=60)  # the agent restarted (a configuration applied)
    assert again.get(token) == (session, False)
    again.end(token)
    assert Sessions(path, lifetime_s=60).get(token) == (None, False)


def test_a_new_password_ends_the_roles_sessions(tmp_path, passwords):
    passwords.set("installer", "correct horse battery")
    sessions = Sessions(tmp_path / "sessions.json", lifetime_s=60)
    token, _ = sessions.create("installer", "10.0.0.2", passwords.ids()["installer"])
    assert sessions.get(token, passwords.ids())[0] is not None
    passwords.set("installer", "another horse battery")
    assert sessions.get(token, passwords.ids()) == (None, True)


def test_the_csrf_token_must_match(tmp_path):
    _, session = Sessions(tmp_path / "sessions.json", lifetime_s=60).create("installer", "10.0.0.2")
    assert csrf_ok(session, session.csrf)
    assert not csrf_ok(session, None) and not csrf_ok(session, "") and not csrf_ok(session, session.csrf[:-1] + "x")


def test_failed_logins_lock_an_address_out_for_longer_each_time():
    throttle = LoginThrottle(free_failures=5, lock_base_s=30, lock_max_s=900)
    for i in range(4):
        assert throttle.failed("10.0.0.9", float(i)) == 0.0
        assert throttle.wait_s("10.0.0.9", float(i)) == 0.0
    assert throttle.failed("10.0.0.9", 4.0) == 30.0  # the fifth in a row
    assert throttle.wait_s("10.0.0.9", 10.0) == 24.0
    assert throttle.wait_s("10.0.0.8", 10.0) == 0.0  # another address is not locked out
    assert throttle.failed("10.0.0.9", 40.0) == 60.0
    assert throttle.failed("10.0.0.9", 200.0) == 120.0
    throttle.succeeded("10.0.0.9")
    assert throttle.wait_s("10.0.0.9", 200.0) == 0.0


def test_the_lock_is_bounded():
    throttle = LoginThrottle(free_failures=1, lock_base_s=30, lock_max_s=900)
    for i in range(20):
        lock = throttle.failed("10.0.0.9", i * 1000.0)
    assert lock == 900.0


def test_many_addresses_together_are_throttled_too():
    throttle = LoginThrottle(global_failures=30, global_window_s=60)
    for i in range(30):
        throttle.failed(f"10.0.{i}.1", 1.0 + i * 0.1)
    assert throttle.wait_s("10.9.9.9", 5.0) == pytest.approx(56.0)
    assert throttle.wait_s("10.9.9.9", 61.1) == 0.0
