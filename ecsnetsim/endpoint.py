"""How the VPC sees one end of a packet: the ENI it leaves or enters by."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    """A packet's sender or receiver as the VPC sees it: the ENI it leaves or enters by."""

    eni: str  # an id, e.g. eni-... (flow logs' interface_id)
    ip: str
    groups: tuple[str, ...] = ()
    subnet: str | None = None  # the subnet whose route table applies to it
    public_ip: bool = False
    no_public_ip: str = ""  # why it has none, when that matters (awsvpc on EC2)
    what: str = ""  # how reasons name it
