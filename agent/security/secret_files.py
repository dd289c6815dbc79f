"""Files that hold secrets (the HTTP Basic password, private keys), and keeping secrets out of logs.

Secret files are written owner-only (0600) and replaced atomically, so a power cut leaves the
old secret or the new one, never half of one. The log filter removes secrets from every line
(including the frames the ``ocpp`` library logs and tracebacks), by value and by shape.

A secret the backend sends (ChangeConfiguration AuthorizationKey) is recognised on the parsed
frame, not on its text, which JSON lets the backend escape at will (``"Authorization\\u004bey"``):
``learn_secret`` is told the parsed value before the library sees the frame, and from then on
every form it was written in, or may be printed in, is removed from every log line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

REDACTED = "<redacted>"

# Shapes a secret has on its way in or out, whatever its value.
_PATTERNS = [
    # An AuthorizationKey in a ChangeConfiguration frame (either order of the two fields).
    re.compile(r'("key"\s*:\s*"AuthorizationKey"\s*,\s*"value"\s*:\s*")[^"]*'),
    re.compile(r'("value"\s*:\s*")[^"]*("\s*,\s*"key"\s*:\s*"AuthorizationKey")'),
    # An HTTP Basic Authorization header.
    re.compile(r"(Authorization:?\s*'?Basic\s+)[A-Za-z0-9+/=]+", re.IGNORECASE),
    # A PEM private key.
    re.compile(r"(-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----)"),
]
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
# Short values are removed only in quotes: a bare "1234" would take every 1234 out of the log.
_BARE_MIN = 8
_LEARNED_MAX = 32
_learned: dict[str, str] = {}  # form -> replacement, oldest first; shared by every RedactSecrets


def learn_secret(value: object, raw: str = "") -> None:
    """Remove ``value`` from every log line from now on: as the JSON string literal(s) it was
    written as in ``raw`` (the frame it came in), as JSON and Python would print it, and bare."""
    if not isinstance(value, str) or not value:
        return
    forms = {json.dumps(value): f'"{REDACTED}"', json.dumps(value, ensure_ascii=False): f'"{REDACTED}"',
             repr(value): repr(REDACTED)}
    for literal in _JSON_STRING.findall(raw):
        try:
            if json.loads(literal) == value:
                forms[literal] = f'"{REDACTED}"'
        except ValueError:
            continue
    if len(value) >= _BARE_MIN:
        forms[value] = REDACTED
        forms[repr(value)[1:-1]] = REDACTED
    for form, replacement in forms.items():
        _learned.pop(form, None)
        _learned[form] = replacement
    while len(_learned) > _LEARNED_MAX:
        del _learned[next(iter(_learned))]


def write_secret(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by the owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)


def private_directory(path: Path) -> Path:
    """``path`` as a directory only its owner can enter."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def warn_if_exposed(paths: Iterable[Path]) -> list[Path]:
    """Log a warning for each existing secret file that others may read; return them."""
    exposed = []
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            exposed.append(path)
            log.warning("%s holds a secret but is readable by others (mode %o): chmod 600 it", path, mode & 0o777)
    return exposed


class RedactSecrets(logging.Filter):
    """Replace secrets in log records: known values (from ``secrets``) and known shapes."""

    def __init__(self, secrets: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._secrets = secrets

    def redact(self, text: str) -> str:
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED + (m.group(2) if m.re.groups > 1 else ""), text)
        for secret in self._secrets():
            if secret:
                text = text.replace(secret, REDACTED)
        for form, replacement in sorted(_learned.items(), key=lambda item: -len(item[0])):  # quoted forms first
            text = text.replace(form, replacement)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def install_redaction(secrets: Callable[[], Iterable[str]]) -> RedactSecrets:
    """Filter every handler of the root logger (where every record ends up)."""
    redactor = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor
