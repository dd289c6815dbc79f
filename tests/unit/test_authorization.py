"""Local authorization list, authorization cache and the rules (OCPP 1.6 §3.5), no event loop."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.station.authorization import Authorizer, ListEntry, LocalAuthorization, UpdateStatus, offline_verdict
from agent.backend.ports import AuthorizationStatus, IdTagInfo
from agent.core.identity import IdToken, IdTokenType
from agent.persistence.settings import Settings
from agent.persistence.store import Store

ACCEPTED = IdTagInfo(AuthorizationStatus.ACCEPTED)
BLOCKED = IdTagInfo(AuthorizationStatus.BLOCKED)
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


class Now:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.value = T0

    def __call__(self) -> dt.datetime:
        return self.value


@pytest.fixture
def opened(tmp_path):
    """(store, settings, local, now), reopened on demand from the same database file."""
    stores: list[Store] = []

    def open_(**initial):
        store = Store(tmp_path / "db")
        stores.append(store)
        settings = Settings(store, initial)
        now = Now()
        return store, settings, LocalAuthorization(store, settings, now, cache_max_entries=3), now

    yield open_
    for store in stores:
        store.close()


@pytest.fixture
def local(opened):
    return opened()[2]


def full(local, version, **tags):
    return local.update_list(version, [ListEntry(tag, info) for tag, info in tags.items()], full=True)


def diff(local, version, **tags):
    return local.update_list(version, [ListEntry(tag, info) for tag, info in tags.items()], full=False)


# ---- the local authorization list ------------------------------------------------------


def test_an_empty_list_reports_version_0_and_a_disabled_one_minus_1(opened):
    _store, settings, local, _now = opened()
    assert local.list_version() == 0
    assert full(local, 4, AA=ACCEPTED) is UpdateStatus.ACCEPTED
    assert local.list_version() == 4
    settings.set("local_auth_list_enabled", False)
    assert local.list_version() == -1
    assert local.lookup("AA") is None  # a disabled list authorizes nothing
    assert full(local, 5, BB=ACCEPTED) is UpdateStatus.NOT_SUPPORTED


def test_full_update_replaces_the_list_and_an_empty_full_update_clears_it(local):
    full(local, 1, AA=ACCEPTED, BB=BLOCKED)
    assert full(local, 2, CC=ACCEPTED) is UpdateStatus.ACCEPTED
    assert local.lookup("AA") is None and local.lookup("CC") == ACCEPTED
    assert full(local, 3) is UpdateStatus.ACCEPTED
    assert local.list_size() == 0 and local.list_version() == 0


def test_differential_update_adds_updates_and_deletes(local):
    full(local, 1, AA=ACCEPTED, BB=ACCEPTED)
    assert diff(local, 2, AA=BLOCKED, BB=None, CC=ACCEPTED) is UpdateStatus.ACCEPTED
    assert local.lookup("AA").status is AuthorizationStatus.BLOCKED
    assert local.lookup("BB") is None
    assert local.lookup("CC") == ACCEPTED
    assert local.list_version() == 2


def test_differential_update_with_an_old_version_is_a_version_mismatch(local):
    full(local, 5, AA=ACCEPTED)
    assert diff(local, 5, BB=ACCEPTED) is UpdateStatus.VERSION_MISMATCH
    assert diff(local, 3, BB=ACCEPTED) is UpdateStatus.VERSION_MISMATCH
    assert local.lookup("BB") is None and local.list_version() == 5


def test_malformed_updates_fail_and_change_nothing(local):
    full(local, 1, AA=ACCEPTED)
    # A Full update needs an idTagInfo for every entry (§7.2 AuthorizationData).
    assert local.update_list(2, [ListEntry("BB", None)], full=True) is UpdateStatus.FAILED
    # idTags are unique in an update; they are case-insensitive (CiString20).
    twice = [ListEntry("BB", ACCEPTED), ListEntry("bb", BLOCKED)]
    assert local.update_list(2, twice, full=False) is UpdateStatus.FAILED
    assert local.list_version() == 1 and local.lookup("AA") == ACCEPTED and local.lookup("BB") is None


def test_an_update_longer_than_send_local_list_max_length_fails(opened):
    _store, _settings, local, _now = opened(send_local_list_max_length=2)
    assert full(local, 1, AA=ACCEPTED, BB=ACCEPTED, CC=ACCEPTED) is UpdateStatus.FAILED
    assert local.list_version() == 0


def test_a_list_longer_than_local_auth_list_max_length_fails_and_the_old_list_stays(opened):
    _store, _settings, local, _now = opened(local_auth_list_max_length=2)
    assert full(local, 1, AA=ACCEPTED, BB=ACCEPTED) is UpdateStatus.ACCEPTED
    assert diff(local, 2, CC=ACCEPTED) is UpdateStatus.FAILED
    assert local.lookup("CC") is None and local.list_version() == 1 and local.list_size() == 2
    assert diff(local, 2, AA=None, CC=ACCEPTED) is UpdateStatus.ACCEPTED  # one out, one in
    assert full(local, 3, AA=ACCEPTED, BB=ACCEPTED, CC=ACCEPTED) is UpdateStatus.FAILED
    assert local.list_version() == 2


def test_id_tags_are_case_insensitive(local):
    full(local, 1, aabb=ACCEPTED)
    assert local.lookup("AABB") == ACCEPTED


# ---- the authorization cache -----------------------------------------------------------


def test_cache_keeps_status_expiry_and_parent_and_expires_with_time(opened):
    _store, _settings, local, now = opened()
    info = IdTagInfo(AuthorizationStatus.ACCEPTED, T0 + dt.timedelta(hours=1), "FLEET-1")
    local.remember("AA", info)
    assert local.lookup("AA") == info
    now.value = T0 + dt.timedelta(hours=1)
    expired = local.lookup("AA")
    assert expired.status is AuthorizationStatus.EXPIRED and expired.parent_id_tag == "FLEET-1"


def test_list_entries_expire_with_time_too(opened):
    _store, _settings, local, now = opened()
    full(local, 1, AA=IdTagInfo(AuthorizationStatus.ACCEPTED, T0 + dt.timedelta(minutes=1)))
    now.value = T0 + dt.timedelta(minutes=2)
    assert local.lookup("AA").status is AuthorizationStatus.EXPIRED


def test_cache_is_updated_and_cleared(local):
    local.remember("AA", ACCEPTED)
    local.remember("AA", BLOCKED)
    assert local.lookup("AA") == BLOCKED
    assert local.clear_cache() is True
    assert local.lookup("AA") is None and local.cache_size() == 0


def test_a_disabled_cache_stores_nothing_answers_nothing_and_refuses_clear_cache(opened):
    _store, settings, local, _now = opened()
    local.remember("AA", ACCEPTED)
    settings.set("authorization_cache_enabled", False)
    local.remember("BB", ACCEPTED)
    assert local.lookup("AA") is None
    assert local.clear_cache() is False
    settings.set("authorization_cache_enabled", True)
    assert local.lookup("AA") == ACCEPTED and local.lookup("BB") is None


def test_a_full_cache_forgets_the_entry_confirmed_longest_ago(local):
    for tag in ("AA", "BB", "CC"):
        local.remember(tag, ACCEPTED)
    local.remember("AA", BLOCKED)  # confirmed again: now the newest
    local.remember("DD", ACCEPTED)  # over cache_max_entries=3
    assert local.cache_size() == 3
    assert local.lookup("BB") is None
    assert local.lookup("AA") == BLOCKED and local.lookup("DD") == ACCEPTED


def test_the_list_wins_over_the_cache(local):
    local.remember("AA", BLOCKED)
    full(local, 1, AA=ACCEPTED)
    assert local.lookup("AA") == ACCEPTED
    local.remember("AA", IdTagInfo(AuthorizationStatus.INVALID))  # §4.1: not cached, it is listed
    full(local, 2)
    assert local.lookup("AA") == BLOCKED  # only the older cache entry is left


def test_list_version_and_cache_survive_a_restart(opened):
    _store, _settings, local, _now = opened()
    full(local, 7, AA=IdTagInfo(AuthorizationStatus.ACCEPTED, T0 + dt.timedelta(days=1), "FLEET-1"))
    local.remember("BB", BLOCKED)
    _store.close()
    _store, _settings, local, _now = opened()
    assert local.list_version() == 7
    assert local.lookup("AA") == IdTagInfo(AuthorizationStatus.ACCEPTED, T0 + dt.timedelta(days=1), "FLEET-1")
    assert local.lookup("BB") == BLOCKED


# ---- the rules -------------------------------------------------------------------------


def run(coroutine):
    """Run a coroutine that never suspends (the fake backend answers at once): no event loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the coroutine waited for something")


class FakeBackend:
    """agent.backend.ports.BackendPort, as far as the Authorizer uses it."""

    def __init__(self, online: bool = True, answers: dict[str, IdTagInfo] | None = None) -> None:
        self.online = online
        self.answers = answers or {}
        self.asked: list[str] = []

    async def authorize(self, id_token: IdToken) -> IdTagInfo | None:
        self.asked.append(id_token.value)
        return self.answers.get(id_token.value)


@pytest.mark.parametrize(
    ("known", "keys", "accepted"),
    [
        (ACCEPTED, {}, True),  # LocalAuthorizeOffline (default true)
        (ACCEPTED, {"local_authorize_offline": False}, False),
        (ACCEPTED, {"local_authorize_offline": False, "allow_offline_tx_for_unknown_id": True}, True),
        (BLOCKED, {"allow_offline_tx_for_unknown_id": True}, False),  # §3.5.4: known invalid: never
        (None, {}, False),
        (None, {"allow_offline_tx_for_unknown_id": True}, True),
    ],
)
def test_offline_rules(opened, known, keys, accepted):
    settings = opened(**keys)[1]
    assert offline_verdict(known, settings).accepted is accepted


def test_online_the_backend_decides_and_the_parent_comes_with_it(opened):
    _store, settings, local, _now = opened()
    full(local, 1, AA=BLOCKED)
    backend = FakeBackend(answers={"AA": IdTagInfo(AuthorizationStatus.ACCEPTED, None, "FLEET-1")})
    verdict = run(Authorizer(local, settings).authorize("AA", backend))
    assert verdict.accepted and verdict.parent_id_tag == "FLEET-1" and backend.asked == ["AA"]


def test_local_pre_authorize_accepts_a_listed_card_without_asking(opened):
    _store, settings, local, _now = opened(local_pre_authorize=True)
    full(local, 1, AA=IdTagInfo(AuthorizationStatus.ACCEPTED, None, "FLEET-1"), BB=BLOCKED)
    backend = FakeBackend(answers={"BB": ACCEPTED})
    authorizer = Authorizer(local, settings)
    verdict = run(authorizer.authorize("AA", backend))
    assert verdict.accepted and verdict.parent_id_tag == "FLEET-1" and backend.asked == []
    # Only Accepted entries skip the backend; a blocked one is asked about.
    assert run(authorizer.authorize("BB", backend)).accepted and backend.asked == ["BB"]


def test_no_answer_from_the_backend_falls_back_to_the_offline_rules(opened):
    _store, settings, local, _now = opened()
    local.remember("AA", ACCEPTED)
    authorizer = Authorizer(local, settings)
    assert run(authorizer.authorize("AA", FakeBackend(answers={}))).accepted
    assert not run(authorizer.authorize("ZZ", FakeBackend(online=False))).accepted
    assert run(authorizer.authorize("AA", None)).accepted


def test_parent_of_a_card_locally_else_from_the_backend(opened):
    _store, settings, local, _now = opened()
    full(local, 1, AA=IdTagInfo(AuthorizationStatus.ACCEPTED, None, "FLEET-1"), BB=BLOCKED)
    backend = FakeBackend(answers={"CC": IdTagInfo(AuthorizationStatus.ACCEPTED, None, "FLEET-2")})
    authorizer = Authorizer(local, settings)
    assert run(authorizer.parent_of("AA", backend)) == "FLEET-1"
    assert run(authorizer.parent_of("BB", backend)) is None  # a blocked card speaks for no group
    assert run(authorizer.parent_of("CC", backend)) == "FLEET-2"
    assert run(authorizer.parent_of("DD", FakeBackend(online=False))) is None
    assert backend.asked == ["CC"]


# ---- OCPP 2.0.1: typed tokens (§2.28 IdTokenType), DisablePostAuthorize, cache LifeTime ------


def test_a_typed_entry_stands_for_its_type_an_untyped_one_for_any(local):
    local.update_list(1, [ListEntry("ABC", ACCEPTED, "KeyCode"), ListEntry("DEF", BLOCKED)], full=True)
    assert local.lookup("ABC", "KeyCode") == ACCEPTED
    assert local.lookup("ABC", "ISO14443") is None  # a card with the same value is another token
    assert local.lookup("ABC") == ACCEPTED  # OCPP 1.6 asks without a type
    assert local.lookup("DEF", "ISO14443") == BLOCKED  # listed through 1.6: any type
    local.remember("CC", ACCEPTED, "ISO14443")
    assert local.lookup("CC", "ISO14443") == ACCEPTED and local.lookup("CC", "Central") is None


def test_an_untyped_database_reads_as_before(opened):
    store, settings, local, _now = opened()
    store.execute("INSERT INTO auth_cache(id_tag, status, updated_at) VALUES ('OLD', 'Accepted', 0)")
    settings.set("auth_cache_lifetime_s", 10 ** 10)
    assert local.lookup("OLD", "ISO14443") == ACCEPTED


def test_post_authorize_disabled_per_store(opened):
    _store, settings, local, _now = opened()
    full(local, 1, AA=BLOCKED)
    local.remember("BB", BLOCKED)
    assert not local.post_authorize_disabled("AA") and not local.post_authorize_disabled("BB")
    settings.set("local_auth_list_disable_post_authorize", True)
    assert local.post_authorize_disabled("AA") and not local.post_authorize_disabled("BB")
    settings.set("auth_cache_disable_post_authorize", True)
    assert local.post_authorize_disabled("BB") and not local.post_authorize_disabled("CC")


def test_a_cache_entry_unused_for_its_lifetime_is_forgotten(opened):
    store, settings, local, _now = opened()
    local.remember("AA", ACCEPTED)
    settings.set("auth_cache_lifetime_s", 60)
    assert local.lookup("AA") == ACCEPTED
    store.execute("UPDATE auth_cache SET updated_at = updated_at - 61")
    assert local.lookup("AA") is None and local.cache_size() == 0


# ---- OCPP 2.0.1: the rules with typed tokens and DisablePostAuthorize ---------------------


class TypedBackend(FakeBackend):
    """Records the idTokens it is asked about, with their types."""

    def __init__(self, online: bool = True, answers: dict[str, IdTagInfo] | None = None) -> None:
        super().__init__(online, answers)
        self.tokens: list[IdToken] = []

    async def authorize(self, id_token: IdToken) -> IdTagInfo | None:
        self.tokens.append(id_token)
        return await super().authorize(id_token)


CARD = IdToken("ABC", IdTokenType.ISO14443)
KEY = IdToken("ABC", IdTokenType.KEY_CODE)


def test_a_card_is_not_pre_authorized_by_a_listed_key_code_of_the_same_value(opened):
    _store, settings, local, _now = opened(local_pre_authorize=True)
    local.update_list(1, [ListEntry("ABC", IdTagInfo(AuthorizationStatus.ACCEPTED, None, "FLEET-1"), "KeyCode")],
                      full=True)
    backend = TypedBackend(answers={"ABC": BLOCKED})
    authorizer = Authorizer(local, settings)
    verdict = run(authorizer.authorize("ABC", backend, CARD))
    assert not verdict.accepted and backend.tokens == [CARD]  # asked, with the card's type
    verdict = run(authorizer.authorize("ABC", backend, KEY))
    assert verdict.accepted and verdict.parent_id_tag == "FLEET-1" and backend.tokens == [CARD]


def test_a_listed_key_code_does_not_accept_a_card_when_the_backend_does_not_answer(opened):
    _store, settings, local, _now = opened()
    local.update_list(1, [ListEntry("ABC", ACCEPTED, "KeyCode")], full=True)
    authorizer = Authorizer(local, settings)
    assert not run(authorizer.authorize("ABC", TypedBackend(answers={}), CARD)).accepted
    assert run(authorizer.authorize("ABC", TypedBackend(answers={}), KEY)).accepted


def test_local_auth_list_disable_post_authorize_refuses_a_listed_blocked_token_without_asking(opened):
    _store, settings, local, _now = opened(local_auth_list_disable_post_authorize=True)
    full(local, 1, AA=BLOCKED, BB=ACCEPTED)
    backend = TypedBackend(answers={"AA": ACCEPTED, "BB": ACCEPTED})
    authorizer = Authorizer(local, settings)
    assert run(authorizer.authorize("AA", backend, IdToken("AA"))).accepted is False
    assert backend.asked == []  # C14.FR.03: not asked again
    assert run(authorizer.authorize("BB", backend, IdToken("BB"))).accepted  # Accepted: asked as always
    assert backend.asked == ["BB"]
    settings.set("local_auth_list_disable_post_authorize", False)
    assert run(authorizer.authorize("AA", backend, IdToken("AA"))).accepted  # now the backend decides
    assert backend.asked == ["BB", "AA"]


def test_auth_cache_disable_post_authorize_applies_to_a_cached_card_not_to_a_listed_key_code(opened):
    _store, settings, local, _now = opened(auth_cache_disable_post_authorize=True)
    local.remember("ABC", BLOCKED, "ISO14443")  # the card was refused before ...
    local.update_list(1, [ListEntry("ABC", BLOCKED, "KeyCode")], full=True)  # ... then a key code is listed
    backend = TypedBackend(answers={"ABC": ACCEPTED})
    authorizer = Authorizer(local, settings)
    # The card is known from the cache, whose DisablePostAuthorize is on: not asked again.
    assert not run(authorizer.authorize("ABC", backend, CARD)).accepted and backend.tokens == []
    # The key code is known from the list, whose DisablePostAuthorize is off: the backend decides.
    assert run(authorizer.authorize("ABC", backend, KEY)).accepted and backend.tokens == [KEY]


def test_post_authorize_is_not_disabled_for_a_token_known_only_under_another_type(opened):
    _store, _settings, local, _now = opened(auth_cache_disable_post_authorize=True,
                                            local_auth_list_disable_post_authorize=False)
    local.remember("ABC", BLOCKED, "KeyCode")
    assert local.post_authorize_disabled("ABC", "KeyCode")
    assert not local.post_authorize_disabled("ABC", "ISO14443")  # an unknown card: asked
    local.update_list(1, [ListEntry("QR", BLOCKED, "KeyCode")], full=True)
    # A card of the value of a listed key code is not the listed token: the cache's setting applies.
    local.remember("QR", BLOCKED, "ISO14443")
    assert local.post_authorize_disabled("QR", "ISO14443")
    assert not local.post_authorize_disabled("QR", "KeyCode")


def test_the_cache_remembers_a_card_whose_value_is_listed_as_a_key_code(local):
    local.update_list(1, [ListEntry("ABC", ACCEPTED, "KeyCode")], full=True)
    local.remember("ABC", BLOCKED, "ISO14443")
    assert local.lookup("ABC", "ISO14443") == BLOCKED
    assert local.lookup("ABC", "KeyCode") == ACCEPTED


def test_parent_of_a_card_is_not_taken_from_a_listed_key_code_of_the_same_value(opened):
    _store, settings, local, _now = opened()
    local.update_list(1, [ListEntry("ABC", IdTagInfo(AuthorizationStatus.ACCEPTED, None, "FLEET-1"), "KeyCode")],
                      full=True)
    backend = TypedBackend(answers={"ABC": IdTagInfo(AuthorizationStatus.ACCEPTED, None, "FLEET-2")})
    authorizer = Authorizer(local, settings)
    assert run(authorizer.parent_of("ABC", backend, CARD)) == "FLEET-2" and backend.tokens == [CARD]
    assert run(authorizer.parent_of("ABC", backend, KEY)) == "FLEET-1" and backend.tokens == [CARD]


def test_offline_a_locally_accepted_card_brings_its_group(opened):
    settings = opened()[1]
    verdict = offline_verdict(IdTagInfo(AuthorizationStatus.ACCEPTED, None, "FLEET-1"), settings)
    assert verdict.accepted and verdict.parent_id_tag == "FLEET-1"


def test_an_update_of_exactly_send_local_list_max_length_entries_is_accepted(opened):
    _store, _settings, local, _now = opened(send_local_list_max_length=2)
    assert full(local, 1, AA=ACCEPTED, BB=ACCEPTED) is UpdateStatus.ACCEPTED
    assert local.list_size() == 2
