"""A backend that keeps the books: every transaction message by its OCPP message id.

It recognises a resend (the same message id again) and answers it as it answered the
first time, as a careful backend would; anything else that repeats a session is a
duplicate. It also answers CALLs from the agent like a plain CSMS."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from tests.integration.raw_csms import RawCsms


@dataclass
class Session:
    id_tag: str
    transaction_id: int
    start_ids: set[str] = field(default_factory=set)  # message ids of its StartTransaction(s)
    meter_start: int = 0
    stops: list[dict] = field(default_factory=list)
    meter_values: int = 0


class LedgerCsms(RawCsms):
    def __init__(self) -> None:
        super().__init__()
        self.sessions: dict[int, Session] = {}
        self.by_message: dict[str, int] = {}
        self.resends = 0
        self.duplicates = 0
        self.unknown_transaction = 0
        self._next_tx = itertools.count(5000)
        self.answer["StartTransaction"] = self._start
        self.answer["StopTransaction"] = self._stop
        self.answer["MeterValues"] = self._meter_values

    def _current_id(self) -> str:
        return self.current_id

    def _start(self, payload: dict):
        message_id = self._current_id()
        if message_id in self.by_message:
            self.resends += 1
            tx = self.by_message[message_id]
        else:
            if any(s.id_tag == payload["idTag"] for s in self.sessions.values()):
                self.duplicates += 1
            tx = next(self._next_tx)
            self.by_message[message_id] = tx
            self.sessions[tx] = Session(payload["idTag"], tx, {message_id}, payload["meterStart"])
        return ("result", {"transactionId": tx, "idTagInfo": {"status": "Accepted"}})

    def _stop(self, payload: dict):
        message_id = self._current_id()
        session = self.sessions.get(payload["transactionId"])
        if session is None:
            self.unknown_transaction += 1
        elif message_id in {s["_id"] for s in session.stops}:
            self.resends += 1
        else:
            session.stops.append(dict(payload, _id=message_id))
        return ("result", {})

    def _meter_values(self, payload: dict):
        tx = payload.get("transactionId")
        if tx is not None:
            if tx in self.sessions:
                self.sessions[tx].meter_values += 1
            else:
                self.unknown_transaction += 1
        return ("result", {})

    def session_of(self, id_tag: str) -> Session | None:
        return next((s for s in self.sessions.values() if s.id_tag == id_tag), None)
