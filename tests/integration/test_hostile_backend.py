"""A hostile backend (tests/integration/raw_csms.py) sending what the OCPP 1.6 schemas allow but no
honest backend sends, against the agent as a process and the simulator (issue 17)."""

from __future__ import annotations

import datetime as dt
import io
import json
import ssl
import tarfile

import pytest

from tests.file_servers import http_server  # noqa: F401 (fixture)
from tests.integration.conftest import AgentProcess, agent_config
from tests.integration.test_security import log_shows
from tests.integration.test_session_flow import evse
from tests.integration.tls_front import TlsFront
from tests.pki import TestCA, server_context

YEAR_9999 = "9999-12-31T23:59:59Z"


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sane(timestamp: str) -> bool:
    """An OCPP timestamp within a minute of the real time."""
    when = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return abs((when - now_utc()).total_seconds()) < 60


def status(connector_id: int, value: str):
    return lambda f: f[0] == 2 and f[2] == "StatusNotification" and f[3]["connectorId"] == connector_id and f[3]["status"] == value


def call_of(action: str, **fields):
    return lambda f: f[0] == 2 and f[2] == action and all(f[3].get(k) == v for k, v in fields.items())


@pytest.fixture
async def logging_agent(tmp_path, sim):
    """The agent (DEBUG, as AgentProcess runs it) with a ``[log] file``, which GetDiagnostics uploads."""
    agents: list[AgentProcess] = []

    async def make(csms_port: int, extra: str = "") -> AgentProcess:
        config = tmp_path / "agent.toml"
        config.write_text(
            agent_config(modbus_port=sim.modbus_port, csms_port=csms_port, data_dir=tmp_path / "data", card_reader=False)
            + f'\n[log]\nfile = "{tmp_path / "logs" / "agent.log"}"\n' + extra
        )
        agent = AgentProcess(config, tmp_path / "agent.log")
        await agent.start()
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        await agent.stop()
    if agents:
        print(agents[-1].log()[-6000:])


# ---- item 3: a backend time past year 9999 -------------------------------------------------------


async def test_a_year_9999_backend_time_is_refused_and_every_session_is_recorded(sim, raw_csms, make_agent):
    """The backend answers every Heartbeat with year 9999 (one a second). The agent refuses that
    time, reports it, and goes on dating its messages: a remote start gets its StartTransaction
    before energy flows, a remote stop its StopTransaction."""
    boot_now = now_utc().isoformat().replace("+00:00", "Z")
    raw_csms.answer["BootNotification"] = lambda p: ("result", {"status": "Accepted", "currentTime": boot_now, "interval": 1})
    raw_csms.answer["Heartbeat"] = lambda p: ("result", {"currentTime": YEAR_9999})
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    first = await raw_csms.wait_for(call_of("Heartbeat"))
    # A second heartbeat, a second later: a clock that took 9999-12-31T23:59:59 is past year 9999 now.
    await raw_csms.wait_for(call_of("Heartbeat"), after=raw_csms.received.index(first) + 1)
    refused = await raw_csms.wait_for(call_of("SecurityEventNotification", type="InvalidMessages"))
    assert YEAR_9999 in refused[3]["techInfo"] and "refused" in refused[3]["techInfo"]

    sim.plug(1)
    preparing = await raw_csms.wait_for(status(1, "Preparing"))
    assert sane(preparing[3]["timestamp"])
    uid = await raw_csms.call("RemoteStartTransaction", {"idTag": "HOSTILE", "connectorId": 1})
    assert (await raw_csms.response_to(uid))[2] == {"status": "Accepted"}
    await sim.wait_for(lambda s: evse(s)["contactor_closed"] and evse(s)["power_w"] > 1000, timeout=10)
    # Energy flows: its StartTransaction was queued, and is delivered, with a true timestamp.
    start = await raw_csms.wait_for(call_of("StartTransaction", idTag="HOSTILE"), timeout=5)
    assert sane(start[3]["timestamp"])
    await raw_csms.wait_for(status(1, "Charging"))
    transaction_id = 100  # raw_csms numbers transactions from 100

    uid = await raw_csms.call("RemoteStopTransaction", {"transactionId": transaction_id})
    assert (await raw_csms.response_to(uid))[2] == {"status": "Accepted"}
    stop = await raw_csms.wait_for(call_of("StopTransaction", transactionId=transaction_id, reason="Remote"))
    assert sane(stop[3]["timestamp"]) and stop[3]["meterStop"] >= start[3]["meterStart"]
    await sim.wait_for(lambda s: not evse(s)["contactor_closed"] and evse(s)["current_limit_a"] == 0)
    # Still refused, and reported once, however often the backend repeats it.
    assert len([f for f in raw_csms.calls("SecurityEventNotification") if f[3]["type"] == "InvalidMessages"]) == 1


async def test_a_start_the_agent_cannot_record_offers_no_energy(sim, raw_csms, make_agent):
    """An idTag the database cannot store (a lone UTF-16 surrogate: valid JSON, one character,
    within the schema's 20): the start is not recorded, so no energy is offered and the connector
    is Faulted until the EV leaves; the next session charges normally."""
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    sim.plug(1)
    await raw_csms.wait_for(status(1, "Preparing"))
    await raw_csms.send('[2,"lone","RemoteStartTransaction",{"idTag":"\\ud800","connectorId":1}]')
    assert (await raw_csms.response_to("lone"))[2] == {"status": "Accepted"}
    faulted = await raw_csms.wait_for(status(1, "Faulted"))
    assert faulted[3]["errorCode"] == "InternalError" and faulted[3]["vendorErrorCode"] == "E-TX-RECORD"
    state = evse(sim.state())
    assert not state["contactor_closed"] and state["current_limit_a"] == 0 and state["power_w"] == 0
    assert raw_csms.calls("StartTransaction") == []

    sim.unplug(1)
    await raw_csms.wait_for(status(1, "Available"), after=raw_csms.received.index(faulted))
    sim.plug(1)
    mark = len(raw_csms.received)
    await raw_csms.wait_for(status(1, "Preparing"), after=mark)
    uid = await raw_csms.call("RemoteStartTransaction", {"idTag": "GOOD", "connectorId": 1})
    assert (await raw_csms.response_to(uid))[2] == {"status": "Accepted"}
    await raw_csms.wait_for(call_of("StartTransaction", idTag="GOOD"))
    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)


# ---- item 7: numbers no OCPP field can hold --------------------------------------------------------


def profile(unique_id: str, limit: str) -> str:
    return (
        f'[2,"{unique_id}","SetChargingProfile",{{"connectorId":0,"csChargingProfiles":{{"chargingProfileId":7,'
        '"stackLevel":0,"chargingProfilePurpose":"ChargePointMaxProfile","chargingProfileKind":"Absolute",'
        f'"chargingSchedule":{{"chargingRateUnit":"A","chargingSchedulePeriod":[{{"startPeriod":0,"limit":{limit}}}]}}}}}}]'
    )


async def test_bad_numbers_and_odd_frames_get_call_errors_and_keep_the_link_and_the_session(sim, raw_csms, make_agent):
    boot_now = now_utc().isoformat().replace("+00:00", "Z")
    raw_csms.answer["BootNotification"] = lambda p: ("result", {"status": "Accepted", "currentTime": boot_now, "interval": 1})
    await make_agent(raw_csms.port, card_reader=False)
    await raw_csms.connected()
    sim.plug(1)
    await raw_csms.wait_for(status(1, "Preparing"))
    uid = await raw_csms.call("RemoteStartTransaction", {"idTag": "RAW", "connectorId": 1})
    await raw_csms.response_to(uid)
    await raw_csms.wait_for(call_of("StartTransaction"))
    await sim.wait_for(lambda s: evse(s)["contactor_closed"], timeout=10)

    async def answer(text: str) -> list:
        unique_id = json.loads(text.replace("NaN", "0").replace("Infinity", "0"))[1]
        await raw_csms.send(text)
        return await raw_csms.response_to(unique_id)

    # OCPP-J 1.6 §4.2.3: NaN and Infinity are not JSON; 1e308 is a number no field can hold.
    assert (await answer(profile("nan", "NaN")))[2] == "FormationViolation"
    assert (await answer(profile("inf", "Infinity")))[2] == "FormationViolation"
    assert (await answer(profile("big", "1e308")))[2] == "PropertyConstraintViolation"
    deep = '[2,"deep","DataTransfer",{"vendorId":"x","data":' + "[" * 100_000 + "]" * 100_000 + "}]"
    await raw_csms.send(deep)
    assert (await raw_csms.response_to("deep"))[2] == "FormationViolation"
    # A heartbeat answered with an error code OCPP does not define (heartbeats every second here).
    raw_csms.answer["Heartbeat"] = lambda p: ("error", "Teapot")
    mark = len(raw_csms.received)
    await raw_csms.wait_for(call_of("Heartbeat"), after=mark)
    await raw_csms.wait_for(call_of("Heartbeat"), after=len(raw_csms.received))
    raw_csms.answer.pop("Heartbeat")

    # The same connection, the same session, and a good profile is still taken.
    assert (await answer(profile("good", "10")))[2] == {"status": "Accepted"}
    assert raw_csms.connections == 1 and len(raw_csms.calls("BootNotification")) == 1
    assert evse(sim.state())["contactor_closed"] and not raw_csms.calls("StopTransaction")


# ---- item 6: an AuthorizationKey whose name arrives escaped ------------------------------------------

KEY = "0123456789abcdef0123456789abcdef"
OTHER_KEY = "fedcba9876543210fedcba9876543210"


async def test_an_escaped_authorization_key_reaches_no_log_and_no_diagnostics(raw_csms, logging_agent, http_server, tmp_path):
    agent = await logging_agent(raw_csms.port)
    await raw_csms.connected()
    # DEBUG: the library logs the frame as it came, the key's name JSON-escaped (the key is then
    # Rejected, over ws://, but it was sent, and logged).
    await raw_csms.send('[2,"k1","ChangeConfiguration",{"key":"Authorization\\u004bey","value":"' + KEY + '"}]')
    assert (await raw_csms.response_to("k1"))[0] == 3
    # ERROR: the library refuses a frame (a property the schema does not have) and logs its payload.
    await raw_csms.send('[2,"k2","ChangeConfiguration",{"key":"AuthorizationKey","value":"' + OTHER_KEY + '","why":1}]')
    assert (await raw_csms.response_to("k2"))[2] == "FormationViolation"
    uid = await raw_csms.call("GetDiagnostics", {"location": http_server.url("/upload")})
    name = (await raw_csms.response_to(uid))[2]["fileName"]
    await raw_csms.wait_for(call_of("DiagnosticsStatusNotification", status="Uploaded"), timeout=20)
    with tarfile.open(fileobj=io.BytesIO(http_server.uploads[name])) as tar:
        archive = b"".join(tar.extractfile(m).read() for m in tar.getmembers()).decode(errors="replace")

    logs = {
        "stderr": agent.log(),
        "[log] file": (tmp_path / "logs" / "agent.log").read_text(),
        "security log": (tmp_path / "data" / "security.log").read_text(),
        "diagnostics": archive,
    }
    assert "receive message" in logs["stderr"] and "Error while handling request" in logs["stderr"]
    assert "ChangeConfiguration" in logs["diagnostics"]
    for where, text in logs.items():
        for secret in (KEY, KEY.upper(), OTHER_KEY, OTHER_KEY.upper()):
            assert secret not in text, f"{secret} in the {where}"


# ---- item 12: TLS cipher suites ----------------------------------------------------------------------


async def test_a_backend_offering_only_cbc_suites_is_refused_and_reported(sim, raw_csms, tmp_path):
    """Security Whitepaper A00.FR.318/322: with TLS 1.2 only the four AES-GCM suites; a backend
    that allows none of them is refused (InvalidTLSCipherSuite), one that does is taken."""
    ca = TestCA("CPO Root CA")
    ca_path = ca.write(tmp_path / "pki" / "ca.pem")

    def tls12(ciphers: str) -> ssl.SSLContext:
        context = server_context(ca.server(), tmp_path / "pki")
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(ciphers)
        return context

    front = TlsFront(tls12("ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA"), raw_csms.port)  # CBC only
    front.start()
    config = tmp_path / "agent.toml"
    config.write_text(
        agent_config(modbus_port=sim.modbus_port, csms_port=front.port, data_dir=tmp_path / "data", card_reader=False,
                     extra_ocpp=f'ca_bundle = "{ca_path}"').replace('csms_url = "ws://', 'csms_url = "wss://')
    )
    agent = AgentProcess(config, tmp_path / "agent.log")
    await agent.start()
    try:
        await log_shows(agent, "security event InvalidTLSCipherSuite")
        assert front.handshakes and all(outcome == "refused" for outcome, _ in front.handshakes)
        assert raw_csms.connections == 0
        front.context = tls12("ECDHE-ECDSA-AES256-GCM-SHA384")
        await raw_csms.connected()
        assert front.handshakes[-1] == ("accepted", "ECDHE-ECDSA-AES256-GCM-SHA384")
        event = await raw_csms.wait_for(call_of("SecurityEventNotification", type="InvalidTLSCipherSuite"))
        assert "HANDSHAKE_FAILURE" in event[3]["techInfo"]
    finally:
        await agent.stop()
        front.stop()
        print(agent.log()[-4000:])



# ---- item 12: backend strings that would forge log lines ---------------------------------------------


async def test_a_newline_in_a_backend_string_forges_no_log_line(sim, raw_csms, logging_agent, tmp_path):
    agent = await logging_agent(raw_csms.port)
    await raw_csms.connected()
    sim.plug(1)
    await raw_csms.wait_for(status(1, "Preparing"))
    tag = "A\nFORGED CRITICAL"  # an idTag within the schema's 20 characters
    uid = await raw_csms.call("RemoteStartTransaction", {"idTag": tag, "connectorId": 1})
    assert (await raw_csms.response_to(uid))[2] == {"status": "Accepted"}
    await raw_csms.wait_for(call_of("StartTransaction", idTag=tag))  # the idTag itself goes on unchanged
    for where, text in (("stderr", agent.log()), ("[log] file", (tmp_path / "logs" / "agent.log").read_text())):
        assert "started by A\\nFORGED CRITICAL" in text, where
        assert not [line for line in text.splitlines() if line.startswith("FORGED")], where
