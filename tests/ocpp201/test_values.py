import datetime as dt

import pytest

from agent.ocpp201.values import (
    Characteristics,
    DataType,
    ValueRejected,
    check,
    format_value,
    parse,
)

INT = Characteristics(DataType.INTEGER, "s", min_limit=1, max_limit=86400)
DEC = Characteristics(DataType.DECIMAL, "Percent", min_limit=0, max_limit=100)
MEMBERS = Characteristics(DataType.MEMBER_LIST, values_list=("A", "B", "C"), max_limit=3)
SEQUENCE = Characteristics(DataType.SEQUENCE_LIST, values_list=("1", "2"))
OPTION = Characteristics(DataType.OPTION_LIST, values_list=("LRU", "LFU"))
TEXT = Characteristics(DataType.STRING, max_limit=3)
WHEN = Characteristics(DataType.DATE_TIME)
FLAG = Characteristics(DataType.BOOLEAN)


def reason(text, ch):
    with pytest.raises(ValueRejected) as caught:
        check(parse(text, ch), ch)
    return caught.value.reason_code


@pytest.mark.parametrize("text, ch, value", [
    ("true", FLAG, True), ("FALSE", FLAG, False), (" 60 ", INT, 60), ("+5", INT, 5), ("12.5", DEC, 12.5),
    ("A,C", MEMBERS, ["A", "C"]), ("", MEMBERS, []), ("2, 1", SEQUENCE, ["2", "1"]), ("LRU", OPTION, "LRU"),
    ("2026-03-01T10:00:00Z", WHEN, dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)),
])
def test_parse_each_data_type(text, ch, value):
    assert parse(text, ch) == value
    check(value, ch)


@pytest.mark.parametrize("text, ch, code", [
    ("yes", FLAG, "InvalidValue"), ("1.5", INT, "InvalidValue"), ("0", INT, "ValueTooLow"),
    ("86401", INT, "ValueTooHigh"), ("nan", DEC, "InvalidValue"), ("inf", DEC, "InvalidValue"),
    ("101", DEC, "ValueTooHigh"), ("A,D", MEMBERS, "InvalidValue"), ("A,A", MEMBERS, "InvalidValue"),
    ("3", SEQUENCE, "InvalidValue"),
    ("FIFO", OPTION, "InvalidValue"), ("EURO", TEXT, "ValueTooHigh"), ("yesterday", WHEN, "InvalidValue"),
])
def test_values_that_do_not_fit_are_rejected_with_a_reason_code(text, ch, code):
    assert reason(text, ch) == code


def test_max_limit_of_a_list_is_the_length_of_its_csv():
    # Part 2 §2.51: for string and list types maxLimit is the maximum length of the (CSV) string.
    assert reason("A,B,C", MEMBERS) == "ValueTooHigh"
    check(parse("A,B", MEMBERS), MEMBERS)


def test_format_round_trips():
    assert format_value(True, FLAG) == "true"
    assert format_value(22080.0, DEC) == "22080.0"
    assert format_value(0.25, DEC) == "0.25"
    assert format_value(["A", "B"], MEMBERS) == "A,B"
    assert format_value(dt.datetime(2026, 3, 1, 11, tzinfo=dt.timezone(dt.timedelta(hours=1))), WHEN) == "2026-03-01T10:00:00Z"
    assert format_value(None, INT) == ""  # no value: the empty string (B06.FR.13)
    assert format_value("false", FLAG) == "false"  # a live value given as text keeps its meaning


def test_characteristics_as_reported():
    assert MEMBERS.to_dict() == {"data_type": "MemberList", "supports_monitoring": False, "max_limit": 3,
                                 "values_list": "A,B,C"}
