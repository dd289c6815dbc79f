"""OCTT 2.0.1 block C (Authorization): a card presented online, offline, through the authorization
cache and the local authorization list, by group, and a master pass, with the strict backend
checking every message both ways.

The station's card reader yields ISO14443 UIDs; what the backend says of them is
``csms.knows.id_tokens`` (tests/conformance201/conftest.py). Offline decisions leave no trace on
the wire, so those are read from the station's log line ``card <id>: <why>``; whether energy
flows is read from the simulated EVSE. The contract certificate cases (TC_C_50-55) do not apply:
cases.py NOT_APPLICABLE says why."""

from __future__ import annotations

import asyncio
import time

from tests.conformance.conftest import GROUP_1, GROUP_2, INVALID, PARENT, VALID, VALID_2
from tests.conformance201.conftest import CP_ID  # noqa: F401  (the station's identity, for readers)
from tests.conformance201.test_d_local_list import entry, send_list, verdict

MASTER = "04AA55AA55AA55"  # a master pass card: its group is MASTER_GROUP
MASTER_GROUP = "MASTERPASS-1"
OTHER_GROUP_CARD = "04B1B2B3B4B5B6"  # a valid card of another group than GROUP_1's


# ---- helpers ---------------------------------------------------------------------------------

async def configure(csms, **variables: str) -> None:
    """SetVariables ``Component_Variable="value"``, every one Accepted."""
    data = []
    for key, value in variables.items():
        component, variable = key.split("_")
        data.append({"component": {"name": component}, "variable": {"name": variable}, "attributeValue": value})
    result = await csms.call("SetVariables", {"setVariableData": data})
    assert [r["attributeStatus"] for r in result["setVariableResult"]] == ["Accepted"] * len(data), result


async def tapped(station, id_token: str) -> str:
    """The card presented; what the station decided (its log line)."""
    seen = len(station.log())
    await station.tap(id_token)
    return await verdict(station, id_token, after=seen)


async def cached(station, csms, id_token: str, info: dict) -> None:
    """Memory state IdTokenCached: the backend said ``info`` of the card once (AuthorizeResponse,
    C10); an accepted card's wait for the EV is then ended by presenting it again."""
    csms.knows.id_tokens[id_token] = info
    mark = csms.mark()
    why = await tapped(station, id_token)
    assert await csms.wait_call("Authorize", after=mark) == {"idToken": {"idToken": id_token, "type": "ISO14443"}}
    if info["status"] == "Accepted":
        assert why == "backend: Accepted"
        mark = csms.mark()
        await station.tap(id_token)
        await csms.wait_connector_status("Available", after=mark)


async def started(station, csms, *, after: int) -> dict:
    event = await csms.wait_transaction_event("Started", after=after)
    await station.energy_flows()
    return event


async def charging(station, csms, id_token: str = VALID) -> str:
    """Reusable state EnergyTransferStarted; the transactionId."""
    mark = csms.mark()
    await station.tap(id_token)
    station.plug()
    event = await started(station, csms, after=mark)
    return event["transactionInfo"]["transactionId"]


async def ended(csms, transaction_id: str, *, after: int, timeout: float = 15.0) -> dict:
    return await csms.wait_call("TransactionEvent", lambda p: p["eventType"] == "Ended"
                                and p["transactionInfo"]["transactionId"] == transaction_id, after=after, timeout=timeout)


ACCEPTING = ("backend: Accepted", "accepted locally", "offline, accepted", "offline, unknown idTag allowed")


async def refused(station, csms, id_token: str, *, after: int, why: str | None = None, online: bool = True) -> None:
    """The card was refused (``why``, or presented now): no transaction, no energy (the EV is
    plugged in)."""
    decided = await tapped(station, id_token) if why is None else why
    assert not decided.startswith(ACCEPTING), decided
    if online:  # nothing was queued behind the decision
        await csms.barrier()
        assert not csms.transaction_events(after=after)
    assert not station.evse()["contactor_closed"]


async def seconds_passed(seconds: float) -> None:
    """Wall time passing is what a lifetime is about: no event announces it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def offline_with_ev(station, csms) -> None:
    await csms.go_offline()
    station.plug()


async def back_online(station, csms) -> int:
    mark = csms.mark()
    await csms.go_online()
    return mark


# ---- C01 / E: a card presented online --------------------------------------------------------

async def test_TC_C_02_local_start_authorization_invalid(station, csms):
    """C01: AuthorizeRequest with the card (type ISO14443); Invalid: no transaction."""
    csms.knows.id_tokens[INVALID] = {"status": "Invalid"}
    await station.boot()
    station.plug()
    mark = csms.mark()
    assert await tapped(station, INVALID) == "backend: Invalid"
    assert (await csms.wait_call("Authorize", after=mark))["idToken"] == {"idToken": INVALID, "type": "ISO14443"}
    await refused(station, csms, INVALID, after=mark, why="backend: Invalid")


async def test_TC_C_56_local_start_authorization_unknown(station, csms):
    """C01: Unknown (the backend's default for a card it never saw): no transaction."""
    await station.boot()
    station.plug()
    mark = csms.mark()
    assert await tapped(station, INVALID) == "backend: Unknown"
    await refused(station, csms, INVALID, after=mark, why="backend: Unknown")


async def test_TC_C_06_local_start_authorization_blocked(station, csms):
    csms.knows.id_tokens[INVALID] = {"status": "Blocked"}
    await station.boot()
    station.plug()
    mark = csms.mark()
    assert await tapped(station, INVALID) == "backend: Blocked"
    await refused(station, csms, INVALID, after=mark, why="backend: Blocked")


async def test_TC_C_07_local_start_authorization_expired(station, csms):
    csms.knows.id_tokens[INVALID] = {"status": "Expired"}
    await station.boot()
    station.plug()
    mark = csms.mark()
    assert await tapped(station, INVALID) == "backend: Expired"
    await refused(station, csms, INVALID, after=mark, why="backend: Expired")


async def test_TC_C_05_local_start_authorization_invalid_cable_lock(station, csms):
    """C01: the EV plugged first, an invalid card: the cable is not locked (nothing starts)."""
    await station.boot()
    mark = csms.mark()
    station.plug()
    await csms.wait_connector_status("Occupied", after=mark)
    assert await tapped(station, INVALID) == "backend: Unknown"
    await refused(station, csms, INVALID, after=mark, why="backend: Unknown")
    assert not station.lock_locked()


async def test_TC_C_04_local_stop_different_id_token(station, csms):
    """C01/E07: another valid card (no group in common) does not stop the transaction."""
    await station.boot()
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    await station.tap(VALID_2)
    await csms.barrier()
    assert not [e for e in csms.transaction_events(transaction_id, after=mark) if e["eventType"] == "Ended"]
    assert station.evse()["contactor_closed"]
    # The card that started it stops it (E07).
    await station.tap(VALID)
    event = await ended(csms, transaction_id, after=mark)
    assert event["triggerReason"] == "StopAuthorized" and event["transactionInfo"]["stoppedReason"] == "Local"


# ---- C12: the authorization cache ------------------------------------------------------------

PRE_AUTHORIZE = {"AuthCacheCtrlr_Enabled": "true", "AuthCtrlr_LocalPreAuthorize": "true"}


async def test_TC_C_08_authorization_through_cache_accepted(station, csms):
    """C12 (LocalPreAuthorize): a card cached as Accepted starts at once, no AuthorizeRequest."""
    await station.boot()
    await cached(station, csms, VALID, {"status": "Accepted"})
    await configure(csms, **PRE_AUTHORIZE)
    station.plug()
    mark = csms.mark()
    assert await tapped(station, VALID) == "accepted locally (LocalPreAuthorize)"
    event = await started(station, csms, after=mark)
    assert event["idToken"] == {"idToken": VALID, "type": "ISO14443"}
    assert not csms.calls_of("Authorize", after=mark)


async def cached_then_asked(station, csms, cached_status: str, backend_status: str) -> int:
    """C12 / C10: a card cached as not Accepted is asked of the backend again."""
    await station.boot()
    await cached(station, csms, VALID, {"status": cached_status})
    await configure(csms, **PRE_AUTHORIZE, AuthCacheCtrlr_DisablePostAuthorize="false")
    csms.knows.id_tokens[VALID] = {"status": backend_status}
    station.plug()
    mark = csms.mark()
    assert await tapped(station, VALID) == f"backend: {backend_status}"
    assert await csms.wait_call("Authorize", after=mark) == {"idToken": {"idToken": VALID, "type": "ISO14443"}}
    return mark


async def test_TC_C_09_authorization_through_cache_invalid_not_accepted(station, csms):
    mark = await cached_then_asked(station, csms, "Invalid", "Invalid")
    await refused(station, csms, VALID, after=mark, why="backend: Invalid")


async def test_TC_C_10_authorization_through_cache_blocked(station, csms):
    mark = await cached_then_asked(station, csms, "Blocked", "Blocked")
    await refused(station, csms, VALID, after=mark, why="backend: Blocked")


async def test_TC_C_11_authorization_through_cache_expired(station, csms):
    mark = await cached_then_asked(station, csms, "Expired", "Expired")
    await refused(station, csms, VALID, after=mark, why="backend: Expired")


async def test_TC_C_12_authorization_through_cache_invalid_then_accepted(station, csms):
    """The cache was out of date: the backend's Accepted starts the transaction."""
    mark = await cached_then_asked(station, csms, "Invalid", "Accepted")
    await started(station, csms, after=mark)


async def test_TC_C_13_authorization_through_cache_accepted_cable_later(station, csms):
    """C12: cached Accepted, no EV yet: the transaction starts when it is plugged in."""
    await station.boot()
    await cached(station, csms, VALID, {"status": "Accepted"})
    await configure(csms, **PRE_AUTHORIZE)
    mark = csms.mark()
    assert await tapped(station, VALID) == "accepted locally (LocalPreAuthorize)"
    station.plug()
    await started(station, csms, after=mark)
    assert not csms.calls_of("Authorize", after=mark)


async def test_TC_C_57_authorization_through_cache_disable_post_authorize(station, csms):
    """AuthCacheCtrlr.DisablePostAuthorize (§2.4.6): a card cached as not Accepted is refused
    without asking the backend."""
    await station.boot()
    await cached(station, csms, VALID, {"status": "Blocked"})
    await configure(csms, **PRE_AUTHORIZE, AuthCacheCtrlr_DisablePostAuthorize="true")
    csms.knows.id_tokens[VALID] = {"status": "Accepted"}
    station.plug()
    mark = csms.mark()
    why = await tapped(station, VALID)
    assert why.startswith("locally Blocked, not asked again")
    await refused(station, csms, VALID, after=mark, why=why)
    assert not csms.calls_of("Authorize", after=mark)


# ---- C12 with TransactionEventResponse: StopTxOnInvalidId, MaxEnergyOnInvalidId -----------------

async def offline_start_then_invalid(station, csms, stop_on_invalid: str, max_energy_wh: int = 0) -> tuple[int, str]:
    """A card cached as Accepted starts offline; back online, the backend answers the queued
    Started with Invalid (E05 / C12)."""
    await station.boot()
    await cached(station, csms, VALID, {"status": "Accepted"})
    await configure(csms, **PRE_AUTHORIZE, AuthCtrlr_LocalAuthorizeOffline="true",
                    TxCtrlr_StopTxOnInvalidId=stop_on_invalid, TxCtrlr_MaxEnergyOnInvalidId=str(max_energy_wh))
    csms.knows.id_tokens[VALID] = {"status": "Invalid"}
    await offline_with_ev(station, csms)
    assert await tapped(station, VALID) == "offline, accepted by the local list/cache"
    await station.energy_flows()
    mark = await back_online(station, csms)
    event = await csms.wait_transaction_event("Started", after=mark)
    assert event["offline"] is True
    return mark, event["transactionInfo"]["transactionId"]


async def test_TC_C_16_authorization_through_cache_stop_tx_on_invalid_id_true(station, csms):
    """E05 (TxCtrlr.StopTxOnInvalidId true): the transaction ends, Deauthorized, energy stops."""
    mark, transaction_id = await offline_start_then_invalid(station, csms, "true")
    event = await ended(csms, transaction_id, after=mark)
    assert event["triggerReason"] == "Deauthorized"
    assert event["transactionInfo"]["stoppedReason"] == "DeAuthorized"
    await station.no_energy()


async def test_TC_C_17_authorization_through_cache_stop_tx_on_invalid_id_false(station, csms):
    """StopTxOnInvalidId false, MaxEnergyOnInvalidId 0: the transaction goes on, without energy."""
    mark, transaction_id = await offline_start_then_invalid(station, csms, "false")
    await station.no_energy()
    await csms.barrier()
    assert not [e for e in csms.transaction_events(transaction_id, after=mark) if e["eventType"] == "Ended"]


async def test_TC_C_15_cache_stop_tx_on_invalid_id_false_max_energy(station, csms):
    """§2.6.7 MaxEnergyOnInvalidId > 0, StopTxOnInvalidId false: the transaction goes on and
    energy flows up to the allowance (here far away): not deauthorized, not suspended."""
    mark, transaction_id = await offline_start_then_invalid(station, csms, "false", 100000)
    energy = station.evse()["energy_wh"]
    await station.sim.wait_for(lambda s: s["evses"][0]["energy_wh"] > energy + 50, timeout=15)  # charging goes on
    await csms.barrier()
    assert station.evse()["contactor_closed"]
    events = csms.transaction_events(transaction_id, after=mark)
    assert not [e for e in events if e["eventType"] == "Ended" or e["triggerReason"] == "Deauthorized"]
    assert not [e for e in events if e["transactionInfo"].get("chargingState") == "SuspendedEVSE"]


async def test_TC_C_18_cache_stop_tx_on_invalid_id_true_max_energy(station, csms):
    """§2.6.7 MaxEnergyOnInvalidId > 0, StopTxOnInvalidId true: energy flows on until the
    transaction has delivered the allowance, then it ends Deauthorized."""
    allowance = 400
    mark, transaction_id = await offline_start_then_invalid(station, csms, "true", allowance)
    started_event = csms.transaction_events(transaction_id, after=mark)[0]
    meter_start = started_event["meterValue"][0]["sampledValue"][0]["value"]
    assert station.evse()["energy_wh"] < meter_start + allowance  # the Invalid came before the allowance was used
    event = await ended(csms, transaction_id, after=mark, timeout=60)
    assert event["triggerReason"] == "Deauthorized"
    meter_stop = next(v["sampledValue"][0]["value"] for v in event["meterValue"]
                      if v["sampledValue"][0].get("context") == "Transaction.End")
    assert meter_stop - meter_start >= allowance
    await station.no_energy()


# ---- C13 / C15: offline, the local authorization list ------------------------------------------

async def listed_offline(station, csms, status: str, *, cache: str | None = None) -> int:
    await station.boot()
    if cache is not None:
        await cached(station, csms, VALID, {"status": cache})
    assert await send_list(csms, 1, "Full", entry(VALID, status)) == "Accepted"
    await configure(csms, AuthCtrlr_LocalAuthorizeOffline="true", AuthCtrlr_OfflineTxForUnknownIdEnabled="false")
    await offline_with_ev(station, csms)
    return csms.mark()


async def test_TC_C_21_offline_authorization_local_list_accepted(station, csms):
    """C13: offline, a card listed as Accepted starts; back online the transaction is
    reported, offline true (E04)."""
    await listed_offline(station, csms, "Accepted")
    assert await tapped(station, VALID) == "offline, accepted by the local list/cache"
    await station.energy_flows()
    mark = await back_online(station, csms)
    event = await csms.wait_transaction_event("Started", after=mark)
    assert event["offline"] is True and event["idToken"]["idToken"] == VALID


async def test_TC_C_22_offline_authorization_local_list_invalid(station, csms):
    """C13: listed as not Accepted: refused offline."""
    mark = await listed_offline(station, csms, "Invalid")
    await refused(station, csms, VALID, after=mark, online=False)


async def test_TC_C_23_offline_authorization_local_list_blocked(station, csms):
    mark = await listed_offline(station, csms, "Blocked")
    await refused(station, csms, VALID, after=mark, online=False)


async def test_TC_C_24_offline_authorization_local_list_expired(station, csms):
    mark = await listed_offline(station, csms, "Expired")
    await refused(station, csms, VALID, after=mark, online=False)


async def test_TC_C_25_offline_local_list_over_cache(station, csms):
    """C13: the list wins over the cache: cached Accepted, listed Blocked: refused."""
    mark = await listed_offline(station, csms, "Blocked", cache="Accepted")
    await refused(station, csms, VALID, after=mark, online=False)


async def test_TC_C_26_offline_authorization_unknown_id(station, csms):
    """C15: OfflineTxForUnknownIdEnabled true: a card known nowhere starts offline."""
    await station.boot()
    await configure(csms, AuthCtrlr_OfflineTxForUnknownIdEnabled="true")
    await offline_with_ev(station, csms)
    assert await tapped(station, INVALID) == "offline, unknown idTag allowed (AllowOfflineTxForUnknownId)"
    await station.energy_flows()
    mark = await back_online(station, csms)
    event = await csms.wait_transaction_event("Started", after=mark)
    assert event["offline"] is True and event["idToken"]["idToken"] == INVALID


# ---- C14: online, the local authorization list --------------------------------------------------

async def listed_online(station, csms, status: str, backend_status: str) -> int:
    await station.boot()
    assert await send_list(csms, 1, "Full", entry(VALID, status)) == "Accepted"
    await configure(csms, AuthCtrlr_LocalPreAuthorize="true", LocalAuthListCtrlr_DisablePostAuthorize="false")
    csms.knows.id_tokens[VALID] = {"status": backend_status}
    station.plug()
    return csms.mark()


async def test_TC_C_27_online_authorization_local_list_accepted(station, csms):
    """C14: listed as Accepted, LocalPreAuthorize: starts at once, no AuthorizeRequest."""
    mark = await listed_online(station, csms, "Accepted", "Invalid")
    assert await tapped(station, VALID) == "accepted locally (LocalPreAuthorize)"
    await started(station, csms, after=mark)
    assert not csms.calls_of("Authorize", after=mark)


async def listed_then_asked(station, csms, status: str, backend_status: str) -> int:
    """C14: listed as not Accepted: the backend is asked."""
    mark = await listed_online(station, csms, status, backend_status)
    assert await tapped(station, VALID) == f"backend: {backend_status}"
    await csms.wait_call("Authorize", after=mark)
    return mark


async def test_TC_C_28_online_authorization_local_list_invalid_not_accepted(station, csms):
    mark = await listed_then_asked(station, csms, "Invalid", "Invalid")
    await refused(station, csms, VALID, after=mark, why="backend: Invalid")


async def test_TC_C_29_online_authorization_local_list_blocked(station, csms):
    mark = await listed_then_asked(station, csms, "Blocked", "Blocked")
    await refused(station, csms, VALID, after=mark, why="backend: Blocked")


async def test_TC_C_30_online_authorization_local_list_expired(station, csms):
    mark = await listed_then_asked(station, csms, "Expired", "Expired")
    await refused(station, csms, VALID, after=mark, why="backend: Expired")


async def test_TC_C_31_online_authorization_local_list_invalid_then_accepted(station, csms):
    mark = await listed_then_asked(station, csms, "Invalid", "Accepted")
    await started(station, csms, after=mark)


async def test_TC_C_58_online_local_list_disable_post_authorize(station, csms):
    """LocalAuthListCtrlr.DisablePostAuthorize (§2.5.6): listed as not Accepted: refused without
    asking the backend."""
    mark = await listed_online(station, csms, "Blocked", "Accepted")
    await configure(csms, LocalAuthListCtrlr_DisablePostAuthorize="true")
    why = await tapped(station, VALID)
    assert why.startswith("locally Blocked, not asked again")
    await refused(station, csms, VALID, after=mark, why=why)
    assert not csms.calls_of("Authorize", after=mark)


# ---- C10 / C11: what the cache stores, clearing it ------------------------------------------------

async def test_TC_C_32_cache_persistent_over_reboot(station, csms):
    """C10: the cache survives a reboot: the card is accepted from it afterwards."""
    await station.boot()
    await cached(station, csms, VALID, {"status": "Accepted"})
    await configure(csms, **PRE_AUTHORIZE)
    await station.card_gone()  # else the new agent reads the card of the last tap as a new one
    mark = csms.mark()
    assert await csms.call("Reset", {"type": "OnIdle"}) == {"status": "Accepted"}
    await csms.wait_call("BootNotification", after=mark, timeout=30)
    await csms.wait_connector_status("Available", after=mark)
    station.plug()
    mark = csms.mark()
    assert await tapped(station, VALID) == "accepted locally (LocalPreAuthorize)"
    await started(station, csms, after=mark)
    assert not csms.calls_of("Authorize", after=mark)


async def test_TC_C_33_cache_updated_on_authorize_response(station, csms):
    """C10: each AuthorizeResponse updates the cache: Accepted, then Blocked; offline
    the card is then refused."""
    await station.boot()
    await cached(station, csms, VALID, {"status": "Accepted"})
    await cached(station, csms, VALID, {"status": "Blocked"})
    await configure(csms, AuthCtrlr_LocalAuthorizeOffline="true")
    await offline_with_ev(station, csms)
    assert await tapped(station, VALID) == "offline, locally Blocked"
    assert not station.evse()["contactor_closed"]


async def test_TC_C_34_cache_updated_on_transaction_response(station, csms):
    """C10: the idTokenInfo of a TransactionEventResponse updates the cache: the backend
    accepts the card (Authorize), then answers Blocked to its Started; offline later the card is
    refused."""
    await station.boot()
    await configure(csms, TxCtrlr_StopTxOnInvalidId="true")
    mark = csms.mark()
    csms.answers["TransactionEvent"] = lambda p: {"idTokenInfo": {"status": "Blocked"}} if "idToken" in p else {}
    await station.tap(VALID)
    station.plug()
    transaction_id = (await csms.wait_transaction_event("Started", after=mark))["transactionInfo"]["transactionId"]
    assert (await ended(csms, transaction_id, after=mark))["triggerReason"] == "Deauthorized"  # StopTxOnInvalidId
    station.unplug()
    await csms.wait_connector_status("Available", after=mark)
    await configure(csms, AuthCtrlr_LocalAuthorizeOffline="true")
    await offline_with_ev(station, csms)
    assert await tapped(station, VALID) == "offline, locally Blocked"


async def test_TC_C_36_cache_local_pre_authorize_false(station, csms):
    """C12: LocalPreAuthorize false: a card cached as Accepted is asked of the backend anyway."""
    await station.boot()
    await cached(station, csms, VALID, {"status": "Accepted"})
    await configure(csms, AuthCacheCtrlr_Enabled="true", AuthCtrlr_LocalPreAuthorize="false")
    station.plug()
    mark = csms.mark()
    assert await tapped(station, VALID) == "backend: Accepted"
    await csms.wait_call("Authorize", after=mark)
    await started(station, csms, after=mark)


async def test_TC_C_37_clear_cache_accepted(station, csms):
    """C11: ClearCache Accepted; the card is no longer known offline."""
    await station.boot()
    await cached(station, csms, VALID, {"status": "Accepted"})
    assert await csms.call("ClearCache", {}) == {"status": "Accepted"}
    await configure(csms, AuthCtrlr_LocalAuthorizeOffline="true", AuthCtrlr_OfflineTxForUnknownIdEnabled="false")
    await offline_with_ev(station, csms)
    assert await tapped(station, VALID) == "offline, unknown idTag refused"


async def test_TC_C_38_clear_cache_rejected(station, csms):
    """C11: the cache disabled (AuthCacheCtrlr.Enabled false): ClearCache Rejected."""
    await station.boot()
    await configure(csms, AuthCacheCtrlr_Enabled="false")
    assert await csms.call("ClearCache", {}) == {"status": "Rejected"}


async def test_TC_C_46_cache_lifetime(station, csms):
    """AuthCacheCtrlr.LifeTime (§2.4.3): an entry not used for LifeTime seconds is gone: the card
    is asked of the backend again."""
    await station.boot()
    await configure(csms, **PRE_AUTHORIZE, AuthCacheCtrlr_LifeTime="2")
    await cached(station, csms, VALID, {"status": "Accepted"})
    await seconds_passed(3)
    station.plug()
    mark = csms.mark()
    assert await tapped(station, VALID) == "backend: Accepted"
    await csms.wait_call("Authorize", after=mark)
    await started(station, csms, after=mark)


# ---- C09: groups ---------------------------------------------------------------------------------

async def test_TC_C_39_authorization_by_group_id_success(station, csms):
    """C09: a card of the same group (groupIdToken in its AuthorizeResponse) stops the
    transaction another card of the group started."""
    await station.boot()
    transaction_id = await charging(station, csms, GROUP_1)
    mark = csms.mark()
    await station.tap(GROUP_2)
    assert (await csms.wait_call("Authorize", after=mark))["idToken"]["idToken"] == GROUP_2
    event = await ended(csms, transaction_id, after=mark)
    assert event["triggerReason"] == "StopAuthorized" and event["idToken"]["idToken"] == GROUP_2


async def test_TC_C_40_authorization_by_group_id_local_list(station, csms):
    """C09: the group known from the local list: the other card stops it, no AuthorizeRequest."""
    await station.boot()
    group = {"idToken": PARENT, "type": "Central"}
    assert (await csms.call("SendLocalList", {"versionNumber": 1, "updateType": "Full", "localAuthorizationList": [
        {"idToken": {"idToken": card, "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted", "groupIdToken": group}}
        for card in (GROUP_1, GROUP_2)]}))["status"] == "Accepted"
    await configure(csms, AuthCtrlr_LocalPreAuthorize="true")
    transaction_id = await charging(station, csms, GROUP_1)
    mark = csms.mark()
    await station.tap(GROUP_2)
    event = await ended(csms, transaction_id, after=mark)
    assert event["triggerReason"] == "StopAuthorized"
    assert not csms.calls_of("Authorize", after=mark)


async def test_TC_C_41_authorization_by_group_id_cache(station, csms):
    """C09: the group known from the cache: the other card stops it, no AuthorizeRequest."""
    await station.boot()
    await cached(station, csms, GROUP_2, KNOWN_GROUP_2)
    transaction_id = await charging(station, csms, GROUP_1)
    mark = csms.mark()
    await station.tap(GROUP_2)
    event = await ended(csms, transaction_id, after=mark)
    assert event["triggerReason"] == "StopAuthorized"
    assert not csms.calls_of("Authorize", after=mark)


KNOWN_GROUP_2 = {"status": "Accepted", "groupIdToken": {"idToken": PARENT, "type": "Central"}}


async def test_TC_C_42_authorization_by_group_id_not_stopped(station, csms):
    """C09: a valid card of another group does not stop the transaction."""
    csms.knows.id_tokens[OTHER_GROUP_CARD] = {"status": "Accepted", "groupIdToken": {"idToken": "GROUP-2", "type": "Central"}}
    await station.boot()
    transaction_id = await charging(station, csms, GROUP_1)
    mark = csms.mark()
    await station.tap(OTHER_GROUP_CARD)
    await csms.wait_call("Authorize", after=mark)
    await csms.barrier()
    assert not [e for e in csms.transaction_events(transaction_id, after=mark) if e["eventType"] == "Ended"]
    assert station.evse()["contactor_closed"]


async def test_TC_C_43_authorization_by_group_id_invalid_in_local_list(station, csms):
    """C09: a card of the group listed as Blocked does not stop the transaction (only a valid
    card speaks for its group, as in 1.6: what is known locally is not asked again)."""
    await station.boot()
    group = {"idToken": PARENT, "type": "Central"}
    assert (await csms.call("SendLocalList", {"versionNumber": 1, "updateType": "Full", "localAuthorizationList": [
        {"idToken": {"idToken": GROUP_2, "type": "ISO14443"}, "idTokenInfo": {"status": "Blocked", "groupIdToken": group}}]}
    ))["status"] == "Accepted"
    transaction_id = await charging(station, csms, GROUP_1)
    csms.knows.id_tokens[GROUP_2] = {**KNOWN_GROUP_2, "status": "Blocked"}
    mark = csms.mark()
    await station.tap(GROUP_2)
    await csms.barrier()
    assert not [e for e in csms.transaction_events(transaction_id, after=mark) if e["eventType"] == "Ended"]
    assert station.evse()["contactor_closed"]


async def test_TC_C_44_authorization_by_group_id_invalid_in_cache(station, csms):
    """C09: a card of the group cached as Blocked does not stop the transaction."""
    await station.boot()
    await cached(station, csms, GROUP_2, {**KNOWN_GROUP_2, "status": "Blocked"})
    transaction_id = await charging(station, csms, GROUP_1)
    mark = csms.mark()
    await station.tap(GROUP_2)
    await csms.barrier()
    assert not [e for e in csms.transaction_events(transaction_id, after=mark) if e["eventType"] == "Ended"]
    assert station.evse()["contactor_closed"]


# ---- C16: the master pass ------------------------------------------------------------------------

MASTER_INFO = {"status": "Accepted", "groupIdToken": {"idToken": MASTER_GROUP, "type": "Central"}}


async def test_TC_C_45_master_pass_cannot_start_transaction(station, csms):
    """C16 / §2.3.7 MasterPassGroupId: a card of the master pass group starts no transaction."""
    csms.knows.id_tokens[MASTER] = MASTER_INFO
    await station.boot()
    await configure(csms, AuthCtrlr_MasterPassGroupId=MASTER_GROUP)
    station.plug()
    mark = csms.mark()
    why = await tapped(station, MASTER)
    assert why == "a master pass (MasterPassGroupId) starts no transaction"
    await csms.wait_call("Authorize", after=mark)
    await refused(station, csms, MASTER, after=mark, why=why)


async def test_TC_C_49_stop_transaction_master_pass_without_ui(station, csms):
    """C16: no UI to choose with: a master pass stops every ongoing transaction (E07:
    StopAuthorized, Local, the master pass as idToken)."""
    csms.knows.id_tokens[MASTER] = MASTER_INFO
    await station.boot()
    await configure(csms, AuthCtrlr_MasterPassGroupId=MASTER_GROUP)
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    await station.tap(MASTER)
    event = await ended(csms, transaction_id, after=mark)
    assert event["triggerReason"] == "StopAuthorized" and event["transactionInfo"]["stoppedReason"] == "Local"
    assert event["idToken"]["idToken"] == MASTER
    await station.no_energy()


async def test_TC_C_14_authorization_through_cache_master_pass_group(station, csms):
    """C16 through the cache: a master pass cached as Accepted with the MasterPassGroupId stops
    the transaction without an AuthorizeRequest."""
    await station.boot()
    await cached(station, csms, MASTER, MASTER_INFO)
    await configure(csms, **PRE_AUTHORIZE, AuthCtrlr_MasterPassGroupId=MASTER_GROUP)
    transaction_id = await charging(station, csms)
    mark = csms.mark()
    await station.tap(MASTER)
    event = await ended(csms, transaction_id, after=mark)
    assert event["triggerReason"] == "StopAuthorized"
    assert not csms.calls_of("Authorize", after=mark)

