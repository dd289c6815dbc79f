"""OCTT module 04, Authorization Cache (OCPP 1.6 §3.5.2, §3.5.1 LocalPreAuthorize, §5.4 ClearCache)."""

from __future__ import annotations

from tests.conformance.conftest import VALID
from tests.conformance.steps import authorized

CACHE = {"AuthorizationCacheEnabled": True, "LocalPreAuthorize": True, "LocalAuthListEnabled": False}


async def cache_valid_tag(station, csms) -> None:
    """Memory state IdTagCached: the backend accepted the card once (Authorize.conf is cached),
    then the EV driver changed their mind (the same card again ends the wait for the plug)."""
    await authorized(station, csms, VALID)
    mark = csms.mark()
    await station.tap(VALID)
    await csms.wait_status("Available", after=mark)


async def test_TC_007_1_regular_start_charging_session_cached_id(station, csms):
    await station.boot(keys=CACHE)
    await cache_valid_tag(station, csms)
    mark = csms.mark()
    await station.tap(VALID)
    await csms.wait_status("Preparing", after=mark)
    station.plug()
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID
    await csms.wait_status("Charging", after=mark)
    assert not csms.calls_of("Authorize", after=mark)  # LocalPreAuthorize: the cache was enough


async def test_TC_007_2_remote_start_charging_session_cached_id(station, csms):
    await station.boot(keys={**CACHE, "AuthorizeRemoteTxRequests": True})
    await cache_valid_tag(station, csms)
    mark = csms.mark()
    assert await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID}) == {"status": "Accepted"}
    await csms.wait_status("Preparing", after=mark)
    station.plug()
    start = await csms.wait_call("StartTransaction", after=mark)
    assert start["idTag"] == VALID
    await csms.wait_status("Charging", after=mark)
    assert not csms.calls_of("Authorize", after=mark)


async def test_TC_061_1_clear_authorization_cache_local_start(station, csms):
    await station.boot(keys={**CACHE, "ConnectionTimeOut": 30})
    await authorized(station, csms)  # its Authorize.conf went into the cache
    mark = csms.mark()
    await station.tap(VALID)  # the same card again: no longer waiting for the cable
    await csms.wait_status("Available", after=mark)
    assert await csms.call("ClearCache", {}) == {"status": "Accepted"}
    mark = csms.mark()
    await station.tap(VALID)
    assert await csms.wait_call("Authorize", after=mark) == {"idTag": VALID}  # asked again: the cache is empty


async def test_TC_061_2_clear_authorization_cache_remote_start(station, csms):
    await station.boot(keys={**CACHE, "AuthorizeRemoteTxRequests": True, "ConnectionTimeOut": 1})
    assert await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID}) == {"status": "Accepted"}
    await csms.wait_call("Authorize")
    mark = csms.mark()
    await csms.wait_status("Available", after=mark)  # no EV came within ConnectionTimeOut
    assert await csms.call("ClearCache", {}) == {"status": "Accepted"}
    mark = csms.mark()
    assert await csms.call("RemoteStartTransaction", {"connectorId": 1, "idTag": VALID}) == {"status": "Accepted"}
    assert await csms.wait_call("Authorize", after=mark) == {"idTag": VALID}
