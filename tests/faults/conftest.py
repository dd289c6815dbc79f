# The fault tests use the same real parts as the integration tests.
from tests.integration.conftest import csms, make_agent, proxy, raw_csms, sim  # noqa: F401
