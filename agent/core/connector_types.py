"""The connector types OCPP knows: what a connector is, for the configuration and every adapter."""

# Part 2 §3.22 ConnectorEnumType, plus cGBT, cChaoJi and OppCharge (§2.13.4).
CONNECTOR_TYPES = frozenset({
    "cCCS1", "cCCS2", "cG105", "cTesla", "cType1", "cType2", "s309-1P-16A", "s309-1P-32A", "s309-3P-16A",
    "s309-3P-32A", "sBS1361", "sCEE-7-7", "sType2", "sType3", "Other1PhMax16A", "Other1PhOver16A", "Other3Ph",
    "Pan", "wInductive", "wResonant", "Undetermined", "Unknown", "cGBT", "cChaoJi", "OppCharge"})
