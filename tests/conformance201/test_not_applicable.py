"""The cases of the 2.0.1 catalogue that do not apply to this station: each checks the fact its
reason rests on (and fails the day it stops holding), then skips with the reason."""

from __future__ import annotations

import pytest

from tests.conformance201.cases import NOT_APPLICABLE, not_applicable


@pytest.mark.parametrize("case_id", sorted(NOT_APPLICABLE))
def test_not_applicable(case_id):
    not_applicable(case_id)
