"""One log record, one line: control characters in a log message are escaped.

Strings from the backend (idTags, vendorIds, messages, URLs, times) reach log messages; a newline
or carriage return in one would start a line that reads like the agent's own ("... CRITICAL ...
firmware installed"), and escape sequences could rewrite a terminal. ``EscapeControlCharacters``
escapes them in the message of every record, once, for every handler it is installed on
(agent/app/cli.py: every handler of the root logger; agent/security/security_log.py: the security
log), so no
call site has to. C0 and C1 controls, DEL, the Unicode line and paragraph separators and lone
surrogates are written as ``\\n``, ``\\r``, ``\\t``, ``\\x1b``, ``\\u2028``, ``\\udc80``.
Tracebacks (``exc_text``) are multi-line by nature and left as they are.
"""

from __future__ import annotations

import logging
import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    return _CONTROL.sub(lambda m: _NAMED.get(m.group()) or _code(m.group()), text)


def _code(char: str) -> str:
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


class EscapeControlCharacters(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        return True


def install(handlers: list[logging.Handler]) -> None:
    escaper = EscapeControlCharacters()
    for handler in handlers:
        handler.addFilter(escaper)
