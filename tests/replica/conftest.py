"""The replica test starts its servers as the fault tests do: their temporary folder, the
processes stopped at the end, and a skip that fails under GONGZHI_NO_SKIP=1."""

from tests.fault.conftest import folder, need, started  # noqa: F401 (fixtures shared with tests/fault)
