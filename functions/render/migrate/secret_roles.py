"""Which of an EventDrivenService's envFrom Secrets is the database, the cache or the LLM keys.

An EventDrivenService mounts `secret1Name` … `secret5Name` whole (envFrom) and gives them no
roles; its examples put the database first, the cache second and API keys third, but not
always. An AgentExecutor reads its database, cache and LLM keys by key from named Secrets
(`secrets.postgres`, `secrets.dragonfly`, `secrets.llmKeys`) and mounts the rest whole
(`secrets.extra`). The role is read from the Secret's name, never from its slot: a name with
exactly one role's word (between dashes, dots or underscores) takes that role, the first such
Secret per role wins, and every other Secret stays mounted whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Role(Enum):
    """Where a Secret goes in `spec.secrets`; the value is the target field."""

    POSTGRES = "postgres"
    DRAGONFLY = "dragonfly"
    LLM_KEYS = "llmKeys"
    EXTRA = "extra"


# The words in a Secret's name that say what it holds.
ROLE_WORDS: dict[Role, frozenset[str]] = {
    Role.POSTGRES: frozenset({"db", "database", "postgres", "postgresql", "pg"}),
    Role.DRAGONFLY: frozenset({"cache", "dragonfly", "redis"}),
    Role.LLM_KEYS: frozenset({"llm", "openai", "anthropic"}),
}


@dataclass(frozen=True)
class Assignment:
    """A source Secret and the role it takes."""

    source: str  # the source field, e.g. `spec.secret2Name`
    name: str
    role: Role
    why: str


def role_of(name: str) -> Role | None:
    """The one role the name's words point at; None for no role or more than one."""
    words = set(re.split(r"[-._]", name))
    roles = [role for role, vocabulary in ROLE_WORDS.items() if words & vocabulary]
    return roles[0] if len(roles) == 1 else None


def assign(secrets: list[tuple[str, str]]) -> list[Assignment]:
    """Roles for `(source field, Secret name)` pairs, in their order."""
    taken: dict[Role, str] = {}
    assignments = []
    for source, name in secrets:
        role = role_of(name)
        if role is None:
            words = set(re.split(r"[-._]", name))
            ambiguous = [r.value for r, v in ROLE_WORDS.items() if words & v]
            why = (
                f"its name points at more than one role ({', '.join(ambiguous)})"
                if ambiguous
                else "its name names no database, cache or LLM keys"
            )
            assignments.append(Assignment(source, name, Role.EXTRA, why))
        elif role in taken:
            why = f"{taken[role]} already holds secrets.{role.value}"
            assignments.append(Assignment(source, name, Role.EXTRA, why))
        else:
            taken[role] = source
            assignments.append(Assignment(source, name, role, "its name says so"))
    return assignments
