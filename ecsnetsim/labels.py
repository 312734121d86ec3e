"""How a variant is named to a reader: its name without the dotted prefixes of the
override paths that made it. Shared by the summary, the claim language and the report
page, so that a variant reads the same in all three.

Examples
--------
>>> variant_label("account.awsvpc_trunking=false")
'awsvpc_trunking=false'
>>> variant_label("bridge services[0].cpu=512")
'bridge cpu=512'
"""

from __future__ import annotations

import re

__all__ = ["variant_label"]


def variant_label(name: str) -> str:
    """A variant's name without the dotted prefix of its override paths
    (``account.awsvpc_trunking=false`` -> ``awsvpc_trunking=false``)."""
    return " ".join(re.sub(r"^[\w\[\]]+\.(?=[\w\[\]]+=)", "", part)
                    if "=" in part else part for part in name.split(" "))
