"""The generated passwords: made once, then read back from observed state (pure, total).

A database's password must not change on reconcile or when the function restarts, so it is
never derived from anything the function holds: the first reconcile generates it, and every
later one reads it back from the Secrets the function composed with it (Crossplane sends their
observed state, data included). It never appears in the XR, its status, a result or a log.

`crossplane render` and `agentplane render` pass an XR read from a file, which has no
`metadata.uid` (the API server gives every stored object one); for such an XR the function
composes PLACEHOLDER instead, so a render shows where the password goes and never a value.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from functions.agent_executor.observed import MISSING, describe

# Letters and digits only: the password is safe in URLs, shells and every client's parser.
ALPHABET = string.ascii_letters + string.digits
LENGTH = 32
PLACEHOLDER = "generated-at-first-reconcile"


@dataclass(frozen=True)
class Password:
    """A password and where it came from; `repr` never shows the value."""

    value: str = field(repr=False)
    origin: str  # "generated", "observed <resource>", or "placeholder"


@dataclass(frozen=True)
class Source:
    """Where a composed Secret keeps the password: its composition resource name and key."""

    resource: str
    key: str


class UnreadablePasswordError(ValueError):
    """Composed Secrets exist but none holds a readable password; never generate over them."""


def generate() -> Password:
    """A new random password."""
    return Password("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)), "generated")


def _decode(value: object) -> str | None:
    """A Secret `data` value as text, or None when it is not base64 of printable text."""
    if not isinstance(value, str):
        return None
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not text or not text.isprintable() or any(c.isspace() for c in text):
        return None
    return text


def _stored(observed: object, key: str) -> tuple[str | None, str]:
    """The password under `data.<key>` of an observed Secret, else why it is not there."""
    data = observed.get("data", MISSING) if isinstance(observed, dict) else observed
    if not isinstance(data, dict):
        return None, f"its data is {describe(data)}"
    if key not in data:
        return None, f"it has no key {key}"
    text = _decode(data[key])
    if text is None:
        return None, f"its key {key} is not base64 of a password"
    return text, ""


def resolve(observed: Mapping[str, object], sources: Sequence[Source], *, live: bool) -> Password:
    """The password to compose: read back, generated on first sight, or the render placeholder.

    `sources` are tried in order; the first readable one wins. When none of them has been
    observed yet, the resource is new and a password is generated. When some exist but
    none can be read, UnreadablePasswordError names them: a new password would lock every
    client of the current one out.
    """
    if not live:
        return Password(PLACEHOLDER, "placeholder")
    problems = []
    for source in sources:
        if source.resource not in observed:
            continue
        value, problem = _stored(observed[source.resource], source.key)
        if value is not None:
            return Password(value, f"observed {source.resource}")
        problems.append(f"{source.resource} ({problem})")
    if problems:
        raise UnreadablePasswordError(
            "cannot read the generated password back from the composed Secret "
            + ", ".join(problems)
            + "; refusing to generate a new one, which would lock out every client of the "
            "current one. Restore the key, or delete the Secret to have a new password generated"
        )
    return generate()
