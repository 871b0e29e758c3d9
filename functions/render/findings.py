"""What `validate` and `render` report about a tenant's files, in one format and one order.

A finding names the file, the document's position in it, the field path and the reason;
errors are what the API server (or the function) would refuse, warnings what it would accept
but a reviewer should not. Both commands print them sorted by file, then document, then field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    """How bad a finding is: an error fails the command, a warning does not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem: the file, the document (1-based among its non-empty documents, 0 for the
    file as a whole), the dotted field path and the reason."""

    path: Path
    field: str
    reason: str
    document: int = 0
    severity: Severity = Severity.ERROR
    # `:line:column` of a parse error, printed right after the path.
    position: str = ""

    def __str__(self) -> str:
        parts = [f"{self.path}{self.position}"]
        if self.severity is Severity.WARNING:
            parts.append("warning")
        if self.field:
            parts.append(self.field)
        return ": ".join([*parts, self.reason])

    @property
    def is_error(self) -> bool:
        """True when the finding fails the command."""
        return self.severity is Severity.ERROR


def sort_key(finding: Finding) -> tuple[str, int, str, str]:
    """File, then document index, then field path (then the reason, for a stable order)."""
    return (str(finding.path), finding.document, finding.field, finding.reason)


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Findings without duplicates, in the order both commands print them."""
    return sorted(set(findings), key=sort_key)


def parse_finding(path: Path, message: str) -> Finding:
    """The finding for a file that does not parse, from the loader's `path[:line:col]: why`."""
    rest = message.removeprefix(str(path))
    position = ""
    if rest.startswith(":") and not rest.startswith(": "):
        position, _, rest = rest.partition(": ")
        return Finding(path, "", rest, position=position)
    return Finding(path, "", rest.removeprefix(": "))


def split_message(line: str) -> tuple[str, str]:
    """`spec.size: reason` → (`spec.size`, `reason`), as the function words its messages."""
    field, _, reason = line.partition(": ")
    return (field, reason) if reason else ("", line)
