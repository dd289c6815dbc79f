"""The ``cryptography`` modules the station uses, imported when first used.

``cryptography`` costs about 9 MB of memory and tens of milliseconds to import, and a station
needs it only for certificates (security profiles 2 and 3, the certificate messages), signed
firmware and the service page's TLS. The modules here import it on their first attribute
access (``x509.load_pem_x509_certificate(...)``, ``except exceptions.InvalidSignature``), so a
station that uses none of that never loads it (README, Performance: footprint)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """A module imported on its first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


x509 = LazyModule("cryptography.x509")
oid = LazyModule("cryptography.x509.oid")
ocsp = LazyModule("cryptography.x509.ocsp")
verification = LazyModule("cryptography.x509.verification")
exceptions = LazyModule("cryptography.exceptions")
hashes = LazyModule("cryptography.hazmat.primitives.hashes")
serialization = LazyModule("cryptography.hazmat.primitives.serialization")
ec = LazyModule("cryptography.hazmat.primitives.asymmetric.ec")
rsa = LazyModule("cryptography.hazmat.primitives.asymmetric.rsa")
padding = LazyModule("cryptography.hazmat.primitives.asymmetric.padding")
asymmetric_utils = LazyModule("cryptography.hazmat.primitives.asymmetric.utils")
