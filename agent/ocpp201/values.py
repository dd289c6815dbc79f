"""The data types of the OCPP 2.0.1 device model: a value on the wire (a string) to a Python
value and back, and the checks a value must pass before it is set.

OCPP 2.0.1 Part 2 §3.26 DataEnumType and §2.51 VariableCharacteristicsType:

- ``boolean`` "true" / "false"; ``integer``; ``decimal``; ``dateTime`` (RFC 3339); ``string``;
- ``OptionList``: one value of ``valuesList``;
- ``MemberList``: an unordered (sub)set of ``valuesList``, comma separated;
- ``SequenceList``: an ordered (sub)set of ``valuesList``, comma separated;
- ``minLimit`` / ``maxLimit``: the range of a number; for string, OptionList, SequenceList and
  MemberList ``maxLimit`` is the maximum length of the (CSV) string.

Python values: bool, int, float, str, ``list[str]`` (the two list types), aware datetime.
A value that fails gets a :class:`ValueRejected` with a reason code of Part 2 Appendix 5
(InvalidValue, ValueOutOfRange, ValueTooLow, ValueTooHigh) and a sentence for the operator.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from dataclasses import dataclass
from typing import Any


class DataType(str, enum.Enum):
    """Part 2 §3.26 DataEnumType."""

    STRING = "string"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATE_TIME = "dateTime"
    BOOLEAN = "boolean"
    OPTION_LIST = "OptionList"
    SEQUENCE_LIST = "SequenceList"
    MEMBER_LIST = "MemberList"


LIST_TYPES = frozenset({DataType.MEMBER_LIST, DataType.SEQUENCE_LIST})
NUMBER_TYPES = frozenset({DataType.INTEGER, DataType.DECIMAL})
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


class ValueRejected(ValueError):
    """A value that does not fit its variable; ``reason_code`` is from Part 2 Appendix 5."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message


@dataclass(frozen=True)
class Characteristics:
    """Part 2 §2.51 VariableCharacteristicsType: the fixed, read-only facts of a variable."""

    data_type: DataType
    unit: str | None = None  # Part 2 Appendix 2 units ("s", "A", "W", "Wh", "Celsius", "Percent"…)
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: tuple[str, ...] | None = None
    supports_monitoring: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The snake_case dict the ``ocpp`` library turns into ``variableCharacteristics``."""
        out: dict[str, Any] = {"data_type": self.data_type.value, "supports_monitoring": self.supports_monitoring}
        if self.unit is not None:
            out["unit"] = self.unit
        if self.min_limit is not None:
            out["min_limit"] = self.min_limit
        if self.max_limit is not None:
            out["max_limit"] = self.max_limit
        if self.values_list is not None:
            out["values_list"] = ",".join(self.values_list)
        return out


def parse(text: str, ch: Characteristics) -> Any:
    """The Python value of ``text``; ValueRejected("InvalidValue") when it is not of the type."""
    kind = ch.data_type
    stripped = text.strip()
    if kind is DataType.BOOLEAN:
        if stripped.lower() not in ("true", "false"):
            raise ValueRejected("InvalidValue", f"{text!r} is not true or false")
        return stripped.lower() == "true"
    if kind is DataType.INTEGER:
        if not _INTEGER.fullmatch(stripped):
            raise ValueRejected("InvalidValue", f"{text!r} is not an integer")
        return int(stripped)
    if kind is DataType.DECIMAL:
        if not _DECIMAL.fullmatch(stripped):
            raise ValueRejected("InvalidValue", f"{text!r} is not a decimal number")
        number = float(stripped)
        if not math.isfinite(number):
            raise ValueRejected("InvalidValue", f"{text!r} is not a finite number")
        return number
    if kind is DataType.DATE_TIME:
        try:
            when = dt.datetime.fromisoformat(stripped.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueRejected("InvalidValue", f"{text!r} is not an RFC 3339 date-time") from None
        if when.tzinfo is None:  # RFC 3339 requires an offset; treat a bare one as UTC (Part 2 §2.1.1)
            when = when.replace(tzinfo=dt.UTC)
        return when
    if kind in LIST_TYPES:
        return [item.strip() for item in text.split(",")] if stripped else []
    if kind is DataType.OPTION_LIST:
        return stripped
    return text  # string: taken as sent


def check(value: Any, ch: Characteristics) -> None:
    """Range, length and allowed values (Part 2 §2.51); ValueRejected when the value breaks one."""
    kind = ch.data_type
    if kind in NUMBER_TYPES:
        if ch.min_limit is not None and value < ch.min_limit:
            raise ValueRejected("ValueTooLow", f"{format_value(value, ch)} is below the minimum {_limit(ch.min_limit, ch)}")
        if ch.max_limit is not None and value > ch.max_limit:
            raise ValueRejected("ValueTooHigh", f"{format_value(value, ch)} is above the maximum {_limit(ch.max_limit, ch)}")
        return
    if kind is DataType.OPTION_LIST and ch.values_list is not None and value not in ch.values_list:
        raise ValueRejected("InvalidValue", f"{value!r} is not one of {','.join(ch.values_list)}")
    if kind in LIST_TYPES:
        for item in value:
            if ch.values_list is not None and item not in ch.values_list:
                raise ValueRejected("InvalidValue", f"{item!r} is not one of {','.join(ch.values_list)}")
        if len(set(value)) != len(value):
            raise ValueRejected("InvalidValue", "a value is listed twice")
    if kind in (DataType.STRING, DataType.OPTION_LIST, *LIST_TYPES) and ch.max_limit is not None:
        length = len(format_value(value, ch))
        if length > ch.max_limit:
            raise ValueRejected("ValueTooHigh", f"{length} characters, more than the maximum {int(ch.max_limit)}")


def format_value(value: Any, ch: Characteristics) -> str:
    """The wire string of a Python value; None (no value) is the empty string (Part 2 B06.FR.13)."""
    if value is None:
        return ""
    kind = ch.data_type
    if kind is DataType.BOOLEAN:
        if isinstance(value, str):  # a live value handed over as text: "false" stays false
            return "true" if value.strip().lower() == "true" else "false"
        return "true" if value else "false"
    if kind is DataType.INTEGER:
        return str(int(value))
    if kind is DataType.DECIMAL:
        return _number(float(value))
    if kind is DataType.DATE_TIME:
        if isinstance(value, str):
            return value
        text: str = value.astimezone(dt.UTC).isoformat(timespec="seconds")
        return text.replace("+00:00", "Z")
    if kind in LIST_TYPES and not isinstance(value, str):
        return ",".join(str(item) for item in value)
    return str(value)


def _limit(x: float, ch: Characteristics) -> str:
    return str(int(x)) if ch.data_type is DataType.INTEGER else _number(x)


def _number(x: float) -> str:
    """22080.0 → "22080.0", 0.5 → "0.5": a decimal without an exponent."""
    if float(x).is_integer():
        return f"{float(x):.1f}"
    return f"{x:f}".rstrip("0")
