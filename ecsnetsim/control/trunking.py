"""Whether a container instance trunks, and why not: the ECS rules in one place.

ECS gives an instance a trunk ENI when it registers, if all of these hold (Amazon ECS
Developer Guide, "Elastic network interface trunking"): the ``awsvpcTrunking`` account
setting was on when the instance registered (instances registered before the opt-in
never trunk), the instance runs Linux (Windows is not supported), and its type is in
ECS's list of supported types. The list shipped here is the guide's table as of
:data:`TABLE_DATE`; a type outside it does not trunk unless the scenario says how many
branch ENIs it offers (``trunk_tasks``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import InstanceType

#: The date of the ECS trunking table the catalog ships (see ``ecsnetsim.catalog``).
TABLE_DATE = "2023-04-18"


@dataclass(frozen=True)
class TrunkDecision:
    """``branches``: VLAN branch ENIs the instance offers (None: it does not trunk);
    ``reason``: why, in one sentence."""

    branches: int | None
    reason: str


def decide(itype: InstanceType, os: str, account_trunking: bool,
           group_setting: bool | None, trunk_tasks: int | None) -> TrunkDecision:
    """The trunking of one instance of type ``itype`` running ``os``.

    ``group_setting`` is the account setting as the group's instances saw it when they
    registered (None: the account's current setting); ``trunk_tasks`` overrides the
    table's branch count.
    """
    setting = account_trunking if group_setting is None else group_setting
    if not setting:
        when = ("was off when these instances registered" if group_setting is False
                and account_trunking else "is off")
        return TrunkDecision(None, f"the awsvpcTrunking account setting {when}")
    if os != "linux":
        return TrunkDecision(None, "ECS supports ENI trunking on Linux container instances "
                                   "only")
    if trunk_tasks is not None:
        if trunk_tasks == 0:
            return TrunkDecision(None, "trunk_tasks is 0 in the scenario")
        return TrunkDecision(trunk_tasks, f"{trunk_tasks} branch ENIs as the scenario sets "
                                          "(trunk_tasks)")
    if itype.trunk_tasks is None:
        if itype.trunk_note:
            return TrunkDecision(None, f"{itype.name}: {itype.trunk_note}")
        return TrunkDecision(None, f"{itype.name} is not in ECS's trunking table of "
                                   f"{TABLE_DATE} (newer types may trunk: set trunk_tasks "
                                   "to model one)")
    return TrunkDecision(itype.trunk_tasks, f"{itype.trunk_tasks} branch ENIs (ECS trunking "
                                            f"table of {TABLE_DATE})")
