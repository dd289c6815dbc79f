"""The service page on a real agent: the simulator (Modbus boards and meters, GPIO through the
pigpio protocol, an I²C bus with a PN532 reader and an OLED), ocpp-csms as the backend, the
agent as its own process with ``[service_page]`` on, its password set with the real
``evse-agent service-password``, and HTTPS with the certificate the agent made on its first
start (the client trusts exactly that certificate)."""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import sys
from pathlib import Path

import aiohttp
import pytest

from simulator.app import Simulator
from simulator.config import load_config as load_sim_config
from simulator.twins.gpio import agent_toml
from tests.integration.conftest import ROOT, AgentProcess, agent_config
from tests.integration.conftest import csms  # noqa: F401 - a fixture used here
from tests.ports import free_port

INSTALLER_PASSWORD = "correct horse battery"
SUPPORT_PASSWORD = "support staple 42"
CARD = "04A1B2C3D4E5F6"


def page_config(sim: Simulator, csms_port: int, data_dir: Path, port: int, lifetime_s: float = 3600,
                extra: str = "") -> str:
    """The integration tests' agent config, with the PN532 on the simulated I²C bus instead of
    pcscd, an OLED on connector 1, the GPIO contactor, RCM and LEDs of connector 1, and the page."""
    text = agent_config(modbus_port=sim.modbus_port, csms_port=csms_port, data_dir=data_dir, card_reader=False)
    reader = '[card_reader]\ndriver = "none"\nreader = "Virtual PCD"\n'
    assert reader in text
    text = text.replace(reader, agent_toml(1, ["contactor", "contactor_feedback", "rcd", "rcm_test", "led_green",
                                               "led_blue", "led_red"])
                        + '\n[card_reader]\ndriver = "pn532"\naddress = 0x24\n')
    return text + (
        f'\n[i2c]\nsim = "127.0.0.1:{sim.i2c_port}"\n\n[[displays]]\naddress = 0x3C\nconnector = 1\n'
        f'\n[service_page]\nlisten = "127.0.0.1:{port}"\nsession_lifetime_s = {lifetime_s}\n'
        f'\n[gpio]\nfactory = "pigpio"\nhost = "127.0.0.1"\nport = {sim.gpio_port}\n' + extra
    )


async def cli(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.app.cli", *args, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    return proc.returncode, out.decode(), err.decode()


async def set_password(config: Path, role: str, password: str) -> str:
    code, out, err = await cli("service-password", "--config", str(config), "--role", role, "--password-stdin",
                               stdin=password + "\n")
    assert code == 0, err
    return out


@dataclasses.dataclass
class Page:
    """The running page: its URL, the certificate to trust, the agent behind it."""

    url: str
    agent: AgentProcess
    config_path: Path
    data_dir: Path

    @property
    def cert(self) -> Path:
        return self.data_dir / "service-page" / "cert.pem"

    def ssl(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.cert))  # trusts this page's certificate only
        return context

    def client(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(self.url, connector=aiohttp.TCPConnector(ssl=self.ssl()),
                                     cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies for 127.0.0.1

    async def answering(self, timeout: float = 30.0) -> None:
        """Wait until the page answers over TLS (the agent started, or restarted)."""
        async with asyncio.timeout(timeout):
            while True:
                if self.cert.exists():
                    try:
                        async with self.client() as http, http.get("/login") as response:
                            if response.status == 200:
                                return
                    except (aiohttp.ClientConnectionError, ssl.SSLError, OSError):
                        pass
                await asyncio.sleep(0.1)


async def login(http: aiohttp.ClientSession, role: str = "installer", password: str = INSTALLER_PASSWORD) -> str:
    """Log ``http`` in; the CSRF token."""
    async with http.post("/api/login", json={"role": role, "password": password}) as response:
        body = await response.json()
        assert response.status == 200, body
        return body["csrf"]


@pytest.fixture
async def page_sim():
    config = load_sim_config()
    first = dataclasses.replace(config.evses[0], display_address=0x3C)
    config = dataclasses.replace(config, evses=(first, *config.evses[1:]),
                                 vpcd=dataclasses.replace(config.vpcd, port=0),
                                 i2c=dataclasses.replace(config.i2c, nfc="pn532"))
    simulator = Simulator(config, http_port=0, modbus_port=0, i2c_port=0, speed=20.0)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def make_page(tmp_path, page_sim):
    """Start an agent with the page on; both roles get their passwords first."""
    agents: list[AgentProcess] = []

    async def make(csms_port: int, lifetime_s: float = 3600, extra: str = "") -> Page:
        port = free_port()
        config = tmp_path / "agent.toml"
        config.write_text(page_config(page_sim, csms_port, tmp_path / "data", port, lifetime_s, extra))
        await set_password(config, "installer", INSTALLER_PASSWORD)
        await set_password(config, "support", SUPPORT_PASSWORD)
        agent = AgentProcess(config, tmp_path / "agent.log")
        await agent.start()
        agents.append(agent)
        page = Page(f"https://127.0.0.1:{port}", agent, config, tmp_path / "data")
        await page.answering()
        return page

    yield make
    for agent in agents:
        await agent.stop()
    if agents:
        print(f"--- agent log ({tmp_path / 'agent.log'}) ---")
        print(agents[-1].log()[-8000:])
