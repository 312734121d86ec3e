"""A user's ENI trunking table (``cluster.trunking_table: my-trunking.csv``), read when the
scenario is validated.

ECS's table of supported types grows with every new instance family; the one shipped
(:mod:`ecsnetsim.catalog`) is the Developer Guide's of 2023-04-18, so m7i, c7i, r7i, m7g,
c7g, m8g and later families do not trunk with it. A user who has the current table (or
the rows they need) gives it as a CSV file with the shipped file's columns
(``instance_type,tasks_without_trunking,tasks_with_trunking``, ``#`` comment lines
allowed); its rows are merged over the built-in table, a row of the file replacing the
built-in row of the same type. Each instance says which table its trunking figure came
from (``instances[].trunk_reason``, and the run summary's trunking lines).

The path is relative to the scenario file (to the working directory for a scenario given
as a mapping). The file's rows are kept in the validated scenario, so that every variant
and worker process uses the same rows and nothing is read during the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationInfo

from .. import catalog
from ..errors import ScenarioError, show
from .yamlsrc import read_bounded

#: The context key the loader gives validation: the directory of the scenario file.
BASE_KEY = "base"


def read_table(value: Any, info: ValidationInfo) -> Any:
    """``cluster.trunking_table`` as written (a path) -> ``{file, rows}``; anything else
    is left to the schema (an already read table, as a dumped scenario holds it, or a
    wrong type that the schema reports).

    A file that cannot be read is reported at the scenario's field (a ``ValueError``); a
    row that cannot be read, in the CSV file at its line (a :class:`ScenarioError`).
    """
    if not isinstance(value, str):
        return value
    base = (info.context or {}).get(BASE_KEY)
    path = Path(value) if Path(value).is_absolute() or base is None else Path(base) / value
    try:
        data = read_bounded(path, what="trunking table CSV")
    except ScenarioError as exc:
        raise ValueError(f"trunking table {show(str(path))}: {exc.message}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScenarioError("not a UTF-8 text file; expected a CSV trunking table",
                            file=str(path)) from None
    try:
        rows = catalog.read_trunking_rows(text)
    except ValueError as exc:
        line, _, message = str(exc).partition(": ")
        raise ScenarioError(message, file=str(path), line=int(line)) from None
    return {"file": value, "rows": [
        {"instance_type": name, "tasks_without_trunking": without,
         "tasks_with_trunking": with_trunking, "line": n}
        for name, without, with_trunking, n in rows]}
