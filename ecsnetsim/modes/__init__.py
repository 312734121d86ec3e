"""Network modes: one module each; the registry maps a mode name to its object."""

from .awsvpc import AwsvpcMode
from .base import NetworkMode, Rejection, TaskSpec
from .bridge import BridgeMode
from .host import HostMode
from .none import NoneMode

MODES: dict[str, NetworkMode] = {m.name: m for m in (AwsvpcMode(), BridgeMode(), HostMode(),
                                                     NoneMode())}


def get(name: str) -> NetworkMode:
    return MODES[name]


__all__ = ["MODES", "NetworkMode", "Rejection", "TaskSpec", "get"]
