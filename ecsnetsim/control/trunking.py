"""Whether a container instance trunks, and why not: the ECS rules in one place.

ECS gives an instance a trunk ENI when it registers, if all of these hold (Amazon ECS
Developer Guide, "Elastic network interface trunking"): the ``awsvpcTrunking`` account
setting was on when the instance registered (instances registered before the opt-in
never trunk), the instance runs Linux (Windows is not supported), and its type is in
ECS's list of supported types. The list shipped here is the guide's table as of
:data:`TABLE_DATE`; a type outside it does not trunk unless the scenario says how many
branch ENIs it offers (``trunk_tasks``), or gives a trunking table of its own
(``cluster.trunking_table``) whose rows are merged over the shipped one. The reason
names the table a figure came from: the shipped one, or the file and its line.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import catalog
from ..catalog import InstanceType

#: The date of the ECS trunking table the catalog ships (see ``ecsnetsim.catalog``).
TABLE_DATE = "2023-04-18"


@dataclass(frozen=True)
class TrunkDecision:
    """``branches``: VLAN branch ENIs the instance offers (None: it does not trunk);
    ``reason``: why, in one sentence."""

    branches: int | None
    reason: str


def _from_file(itype: InstanceType, table) -> TrunkDecision | None:
    """The decision by the row of the user's trunking table ``table`` (a
    :class:`~ecsnetsim.scenario.schema.TrunkingTable`) for the type, if it has one: the
    catalog's decisions applied to it as to a built-in row."""
    row = table.row(itype.name) if table is not None else None
    if row is None:
        return None
    tasks, note = catalog.trunk_decision(itype.name, itype.max_enis,
                                         (row.tasks_without_trunking, row.tasks_with_trunking))
    where = f"trunking table {table.file}, line {row.line}"
    if itype.name in catalog.trunking_table():
        where += f", in place of ECS's table of {TABLE_DATE}"
    if tasks is None:
        return TrunkDecision(None, f"{itype.name}: {note} ({where})")
    extra = f"; {note}" if note else ""
    return TrunkDecision(tasks, f"{tasks} branch ENIs ({where}{extra})")


def decide(itype: InstanceType, os: str, account_trunking: bool,
           group_setting: bool | None, trunk_tasks: int | None,
           table=None) -> TrunkDecision:
    """The trunking of one instance of type ``itype`` running ``os``.

    ``group_setting`` is the account setting as the group's instances saw it when they
    registered (None: the account's current setting); ``trunk_tasks`` overrides the
    table's branch count; ``table``, the scenario's own trunking table, is read before
    the shipped one.
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
    from_file = _from_file(itype, table)
    if from_file is not None:
        return from_file
    if itype.trunk_tasks is None:
        if itype.trunk_note:
            return TrunkDecision(None, f"{itype.name}: {itype.trunk_note}")
        return TrunkDecision(None, f"{itype.name} is not in ECS's trunking table of "
                                   f"{TABLE_DATE} (newer types may trunk: set trunk_tasks "
                                   "to model one)")
    return TrunkDecision(itype.trunk_tasks, f"{itype.trunk_tasks} branch ENIs (ECS trunking "
                                            f"table of {TABLE_DATE})")
