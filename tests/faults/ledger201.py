"""The OCPP 2.0.1 backend that keeps the books: the ``ocpp`` library's central-system side
(tests/ocpp201/csms.py) recording every TransactionEvent by its OCPP message id.

A resend (the same message id again) is recognised and answered as before, as a careful
backend would; the same event (transactionId and seqNo) under another message id is a
duplicate. ``send_raw`` puts any text on the station's connection, ``response_to`` finds the
station's answer to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.ocpp201.csms import Frame, LibraryCsms


@dataclass
class Transaction:
    transaction_id: str
    id_token: str | None = None
    events: list[dict] = field(default_factory=list)  # each event once, in the order they came
    message_ids: set[str] = field(default_factory=set)

    @property
    def seq_nos(self) -> list[int]:
        return [e["seqNo"] for e in self.events]

    @property
    def event_types(self) -> list[str]:
        return [e["eventType"] for e in self.events]

    def register(self, context: str) -> float | None:
        """The energy register the station gave with ``context`` (Transaction.Begin / Transaction.End)."""
        for event in self.events:
            for value in event.get("meterValue", []):
                for sample in value["sampledValue"]:
                    if sample.get("context") == context and \
                            sample.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register":
                        return float(sample["value"])
        return None

    def problems(self) -> list[str]:
        """What breaks the books: every event once, seqNo 0, 1, 2, ..., Started first, Ended last."""
        found = []
        if self.seq_nos != list(range(len(self.events))):
            found.append(f"seqNo {self.seq_nos}")
        types = self.event_types
        if not types or types[0] != "Started" or types.count("Started") != 1:
            found.append(f"events {types}")
        if not types or types[-1] != "Ended" or types.count("Ended") != 1:
            found.append(f"events {types}")
        return found


class Ledger201(LibraryCsms):
    def __init__(self) -> None:
        super().__init__()
        self.transactions: dict[str, Transaction] = {}
        self.resends = 0
        self.duplicates = 0
        self.raw_sent: set[str] = set()  # the texts send_raw put on the wire
        self.answers["TransactionEvent"] = self._transaction_event

    def _transaction_event(self, payload: dict) -> dict:
        message_id = self.calls[-1].unique_id  # the library answers one CALL at a time, the last recorded
        tx_id = payload["transactionInfo"]["transactionId"]
        tx = self.transactions.setdefault(tx_id, Transaction(tx_id))
        if message_id in tx.message_ids:
            self.resends += 1
        elif payload["seqNo"] in tx.seq_nos:
            self.duplicates += 1
        else:
            tx.message_ids.add(message_id)
            tx.events.append(payload)
            if "idToken" in payload:
                tx.id_token = tx.id_token or payload["idToken"]["idToken"]
        return {"idTokenInfo": self.knows.id_token_info(payload["idToken"])} if "idToken" in payload else {}

    def transaction_of(self, id_token: str) -> Transaction | None:
        return next((t for t in self.transactions.values() if t.id_token == id_token), None)

    # ---- raw frames --------------------------------------------------------------------

    async def send_raw(self, text: str, identity: str | None = None) -> None:
        station = self._station(identity)
        self.raw_sent.add(text)
        self._record(Frame(station.id, "to_station", text))
        await self._sockets[station.id].send(text)

    def refused(self) -> list:
        """The CALLERRORs the library itself sent (not ``send_raw``): what the station sent did not pass."""
        return [f.message for f in self.frames
                if f.direction == "to_station" and f.text.startswith("[4") and f.text not in self.raw_sent]

    def answer_to(self, unique_id: str) -> Any:
        for frame in self.frames:
            if frame.direction == "from_station":
                try:
                    message = frame.message
                except ValueError:
                    continue
                if isinstance(message, list) and message[0] in (3, 4) and message[1] == unique_id:
                    return message
        return None

    async def response_to(self, unique_id: str, timeout: float = 15.0) -> list:
        return await self.wait_for(lambda: self.answer_to(unique_id), timeout)
