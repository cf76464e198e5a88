"""Dependency sets as a scenario or the command line names them: `fastapi==0.129.*+pydantic==2.10.*`.

Building a set's environment is lab/drive/depsets.py's.
"""

from __future__ import annotations

from packaging.requirements import InvalidRequirement, Requirement

from lab.errors import LabError


def parse(spec: str) -> list[Requirement]:
    """`fastapi==0.129.*+pydantic==2.10.*` -> requirements; a clear error for a malformed one."""
    out = []
    for part in (p.strip() for p in spec.split("+")):
        try:
            out.append(Requirement(part))
        except InvalidRequirement as exc:
            raise LabError(
                f"dependency set {spec!r}: {part!r} is not a requirement spec ({exc}); "
                "write e.g. fastapi==0.129.* and join several with +"
            ) from None
        if out[-1].url or out[-1].marker:
            raise LabError(f"dependency set {spec!r}: {part!r}: only names and version specifiers are allowed")
    return out
