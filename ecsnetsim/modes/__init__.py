"""Network modes: one module each; the registry maps a mode name to its object.

Adding a mode means adding its module here and to :data:`MODES`; the scenario schema,
the checks of task definitions, placement, the data plane, the comparison and the
figures all ask the registry.
"""

from ..compiled import run_from_source

run_from_source(__path__)

from .awsvpc import AwsvpcMode  # noqa: E402
from .base import NetworkMode, Rejection, TaskSpec, Unreachable  # noqa: E402
from .bridge import BridgeMode  # noqa: E402
from .default import DefaultMode  # noqa: E402
from .host import HostMode  # noqa: E402
from .none import NoneMode  # noqa: E402

MODES: dict[str, NetworkMode] = {m.name: m for m in (
    AwsvpcMode(), BridgeMode(), HostMode(), NoneMode(), DefaultMode())}

#: Launch types and operating systems, the columns of ECS's network-mode table.
PLATFORMS: tuple[tuple[str, str], ...] = (("EC2", "linux"), ("EC2", "windows"),
                                          ("FARGATE", "linux"))


def get(name: str) -> NetworkMode:
    return MODES[name]


def names() -> tuple[str, ...]:
    return tuple(MODES)


def default_for(os: str) -> str:
    """The mode ECS uses when a task definition for ``os`` omits ``networkMode``."""
    return next(m.name for m in MODES.values() if m.default_for_os == os)


def with_links() -> list[str]:
    """Modes whose task definitions may use Docker ``links``."""
    return [name for name, m in MODES.items() if m.links_allowed]


def baseline() -> str:
    """The mode the comparison measures the others against."""
    return next(m.name for m in MODES.values() if m.comparison_baseline)


def table() -> list[tuple[str, dict[tuple[str, str], bool]]]:
    """The network-mode table: per mode, whether each platform allows it."""
    return [(name, {p: m.allows(*p) for p in PLATFORMS}) for name, m in MODES.items()]


__all__ = ["MODES", "PLATFORMS", "NetworkMode", "Rejection", "TaskSpec", "Unreachable",
           "baseline", "default_for", "get", "names", "table"]
