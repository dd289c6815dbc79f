"""Signed firmware (Security Whitepaper ed. 3): the signing certificate against the manufacturer
root (agent/security/firmware_signature.py) and the signed update's course in the firmware updater
(agent/maintenance/firmware.py) on a real store, a real HTTP server and real installer scripts."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from agent.station.clock import Clock
from agent.maintenance.firmware import FirmwareStatus, FirmwareUpdater, Signed, SignedReport
from agent.security.firmware_signature import FirmwareSignatureError, check_signing_certificate, verify_file_signature
from agent.security.events import SecurityEvents
from agent.persistence.store import Store
from tests.file_servers import http_server  # noqa: F401 (fixture)
from tests.firmware_signing import signer
from tests.pki import TestCA

FIRMWARE = b"\x7fELF signed firmware " * 2000


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture(scope="module")
def root() -> TestCA:
    return TestCA("Manufacturer Root CA")


@pytest.fixture
def firmware(tmp_path) -> Path:
    path = tmp_path / "fw.bin"
    path.write_bytes(FIRMWARE)
    return path


# ---- the signing certificate and the signature -----------------------------------------------


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_a_good_signature_by_a_certificate_of_the_manufacturer_root_verifies(root, firmware, kind):
    good = signer(root, kind=kind)
    assert check_signing_certificate(good.pem, [root.cert], now()) == good.cert
    verify_file_signature(good.pem, good.sign(FIRMWARE), firmware)


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_a_tampered_file_is_refused(root, firmware, kind):
    good = signer(root, kind=kind)
    signature = good.sign(FIRMWARE)
    firmware.write_bytes(FIRMWARE[:-1] + b"!")
    with pytest.raises(FirmwareSignatureError, match="does not match fw.bin"):
        verify_file_signature(good.pem, signature, firmware)


def test_a_signature_by_another_key_is_refused(root, firmware):
    other = signer(root)
    with pytest.raises(FirmwareSignatureError, match="does not match"):
        verify_file_signature(signer(root).pem, other.sign(FIRMWARE), firmware)
    with pytest.raises(FirmwareSignatureError, match="not base64"):
        verify_file_signature(other.pem, "not base64 at all!", firmware)


def test_signing_certificates_that_are_refused(root):
    stranger = TestCA("Someone Else's Root")
    cases = {
        "a wrong signer (another root)": (signer(stranger).pem, [root.cert], "does not verify against the manufacturer root"),
        "an expired signer": (signer(root, expired=True).pem, [root.cert], "does not verify"),
        "a TLS server certificate of the same root": (
            signer(root, usage=ExtendedKeyUsageOID.SERVER_AUTH).pem, [root.cert], "codeSigning"
        ),
        "no manufacturer root installed": (signer(root).pem, [], "no ManufacturerRootCertificate"),
        "not a certificate": ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", [root.cert], "not PEM X.509"),
    }
    for case, (pem, roots, reason) in cases.items():
        with pytest.raises(FirmwareSignatureError, match=reason):
            check_signing_certificate(pem, roots, now())
            pytest.fail(f"{case} was accepted")


# ---- a signed update in the updater --------------------------------------------------------


def installer(tmp_path: Path) -> str:
    script = tmp_path / "install.py"
    script.write_text(f"import shutil, sys\nshutil.copy(sys.argv[1], {str(tmp_path / 'installed.bin')!r})\n")
    return f"{sys.executable} {script} {{file}}"


class Harness:
    """A FirmwareUpdater on a real store with real security events; what it reported."""

    def __init__(self, tmp_path: Path, rollback_reason=lambda: None, anchors=None, clock=now) -> None:
        self.store = Store(tmp_path / "agent.db")
        self.reports: list = []
        self.delivered: list = []
        self.restarts = 0
        self.changed = asyncio.Event()
        self.updater = FirmwareUpdater(
            self.store,
            directory=tmp_path / "firmware",
            installer=installer(tmp_path),
            busy=lambda: False,
            report=self._report,
            restart=self._restart,
            now=clock,
            security_events=SecurityEvents(self.store, Clock()),
            rollback_reason=rollback_reason,
            trust_anchors=lambda: anchors,
        )
        self.task = asyncio.create_task(self.updater.run())

    def _report(self, report, on_delivered=None) -> None:
        self.reports.append(report)
        if on_delivered is not None:
            self.delivered.append(on_delivered)
        self.changed.set()

    def _restart(self) -> None:
        self.restarts += 1
        self.changed.set()

    def statuses(self) -> list[str]:
        assert all(isinstance(r, SignedReport) and r.request_id == 7 for r in self.reports)
        return [r.status.value for r in self.reports]

    def security_events(self) -> list[str]:
        rows = self.store.execute("SELECT body FROM outbox WHERE kind = 'security_event' ORDER BY seq").fetchall()
        return [json.loads(row["body"])["type"] for row in rows]

    async def until(self, predicate, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.store.close()


async def test_a_tampered_signed_update_is_refused_and_never_installed(tmp_path, http_server, root):
    good = signer(root)
    http_server.files["fw.bin"] = FIRMWARE + b"tampered"
    # The updater's clock stands still: whether the download is "scheduled" (0.6 s ahead,
    # SCHEDULED_AFTER_S = 0.5) must not depend on how fast this machine got there.
    frozen = now()
    h = Harness(tmp_path, anchors=[root.cert], clock=lambda: frozen)
    try:
        later = frozen + dt.timedelta(seconds=0.6)
        h.updater.update(http_server.url("/files/fw.bin"), later, 1, 0, Signed(7, good.pem, good.sign(FIRMWARE)))
        await h.until(lambda: FirmwareStatus.INVALID_SIGNATURE in [r.status for r in h.reports])
        assert h.statuses() == ["DownloadScheduled", "Downloading", "Downloaded", "InvalidSignature"]
        assert not (tmp_path / "installed.bin").exists() and h.restarts == 0
        assert not list((tmp_path / "firmware").iterdir())  # the file is gone
        assert h.store.execute("SELECT count(*) FROM firmware_update").fetchone()[0] == 0
        assert h.updater.status is FirmwareStatus.IDLE
        assert "InvalidFirmwareSignature" in h.security_events()
    finally:
        await h.close()


async def test_a_good_signed_update_installs_then_reports_installed_after_the_restart(tmp_path, http_server, root):
    good = signer(root, kind="ec")
    http_server.files["fw.bin"] = FIRMWARE
    # The updater's clock stands still while it downloads and verifies: the install, 0.6 s
    # ahead, is "scheduled" (SCHEDULED_AFTER_S = 0.5) however long the download took here.
    frozen = now()
    h = Harness(tmp_path, anchors=[root.cert], clock=lambda: frozen)
    try:
        install_at = frozen + dt.timedelta(seconds=0.6)
        h.updater.update(http_server.url("/files/fw.bin"), frozen, 1, 0, Signed(7, good.pem, good.sign(FIRMWARE), install_at))
        await h.until(lambda: h.restarts == 1)
        assert h.statuses() == ["Downloading", "Downloaded", "SignatureVerified", "InstallScheduled", "Installing"]
        assert (tmp_path / "installed.bin").read_bytes() == FIRMWARE
    finally:
        await h.close()
    again = Harness(tmp_path, anchors=[root.cert])  # the agent after its restart
    try:
        await again.until(lambda: again.reports)
        assert again.statuses() == ["Installed"]
        assert "FirmwareUpdated" in again.security_events()
        again.delivered[0]()  # the backend has it
        assert again.store.execute("SELECT count(*) FROM signed_firmware_update").fetchone()[0] == 0
    finally:
        await again.close()


async def test_a_signed_update_whose_root_is_no_longer_an_anchor_is_not_installed(tmp_path, http_server, root):
    """The anchors are checked again before the installer runs: an update accepted (or stored)
    under roots the installation no longer names does not install."""
    good = signer(root)
    http_server.files["fw.bin"] = FIRMWARE
    h = Harness(tmp_path, anchors=[TestCA("The installation's root now").cert])
    try:
        h.updater.update(http_server.url("/files/fw.bin"), now(), 1, 0, Signed(7, good.pem, good.sign(FIRMWARE)))
        await h.until(lambda: FirmwareStatus.INVALID_SIGNATURE in [r.status for r in h.reports])
        assert h.statuses() == ["Downloading", "Downloaded", "InvalidSignature"]
        assert not (tmp_path / "installed.bin").exists() and h.restarts == 0
        assert not list((tmp_path / "firmware").iterdir())
        assert "InvalidFirmwareSigningCertificate" in h.security_events()
    finally:
        await h.close()


async def test_an_update_rolled_back_after_the_restart_is_reported_failed(tmp_path, http_server, root):
    good = signer(root)
    http_server.files["fw.bin"] = FIRMWARE
    h = Harness(tmp_path, anchors=[root.cert])
    try:
        h.updater.update(http_server.url("/files/fw.bin"), now(), 1, 0, Signed(7, good.pem, good.sign(FIRMWARE)))
        await h.until(lambda: h.restarts == 1)
        # A second request while one is pending would cancel it: nothing pending now (installed).
        assert not h.updater.pending()
    finally:
        await h.close()
    again = Harness(tmp_path, rollback_reason=lambda: "release 9.0.0 started 3 times without connecting", anchors=[root.cert])
    try:
        await again.until(lambda: again.reports)
        assert again.statuses() == ["InstallationFailed"]
        assert "FirmwareUpdated" not in again.security_events()
        assert again.store.execute("SELECT count(*) FROM firmware_update").fetchone()[0] == 0
    finally:
        await again.close()
