"""What became of each field of a migrated claim, and the lines that say so."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Outcome(Enum):
    """The fate of one field (or one remark about a field the target needs)."""

    CARRIED = "carried"  # same meaning at its new place
    CHANGED = "changed"  # carried, but its shape or effect differs: read the detail
    BUILT_IN = "built in"  # the platform always does what the field asked: nothing to write
    DROPPED = "not carried over"  # lost: the target has no field for it
    OMITTED = "omitted"  # state the cluster wrote (status, uid, ...): never part of a claim
    NOTE = "note"  # something the converted claim needs that the source did not say
    INVALID = "invalid"  # the converted claim breaks a rule of the AgentExecutor API


# Outcomes that mean the converted claim does not do everything the source did.
LOSSES = frozenset({Outcome.DROPPED, Outcome.INVALID})


@dataclass(frozen=True)
class FieldReport:
    """One field's fate: where it came from, where it went, and why when that is not obvious."""

    source: str
    outcome: Outcome
    target: str = ""
    detail: str = ""

    def line(self) -> str:
        """`field → target: outcome: detail`, the part after the claim's location."""
        if self.outcome in (Outcome.CARRIED, Outcome.CHANGED):
            head = f"{self.source} → {self.target}"
            if self.outcome is Outcome.CHANGED:
                head += f": {self.outcome.value}"
        else:
            head = f"{self.source or self.target}: {self.outcome.value}"
        return f"{head}: {self.detail}" if self.detail else head


@dataclass(frozen=True)
class Conversion:
    """A converted claim and the report of every field of its source."""

    source_kind: str
    name: str
    namespace: str
    claim: dict[str, Any]
    fields: tuple[FieldReport, ...]

    @property
    def lost(self) -> bool:
        """True when something of the source is not in the converted claim, or it is invalid."""
        return any(f.outcome in LOSSES for f in self.fields)

    def count(self, outcome: Outcome) -> int:
        """How many fields had `outcome`."""
        return sum(1 for f in self.fields if f.outcome is outcome)

    def lines(self, where: str) -> list[str]:
        """The report, one line per field, each prefixed with `where` and the claim."""
        label = f"{where} ({self.source_kind} {self.namespace}/{self.name})"
        return [f"{label}: {f.line()}" for f in self.fields]


def summary(conversions: list[Conversion]) -> str:
    """`N claim(s) converted: ...`, counting the outcomes across every claim."""
    parts = [
        f"{sum(c.count(outcome) for c in conversions)} {label}"
        for outcome, label in (
            (Outcome.CARRIED, "carried over"),
            (Outcome.CHANGED, "changed"),
            (Outcome.DROPPED, "not carried over"),
            (Outcome.INVALID, "invalid"),
        )
    ]
    return f"{len(conversions)} claim(s) converted; fields: " + ", ".join(parts)
