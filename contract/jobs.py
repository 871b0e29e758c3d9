"""Job ids: the one rule producers, the HTTP API and the consumer check (DESIGN section 6)."""

from __future__ import annotations

import re

JOB_ID_MAX_LENGTH = 200
JOB_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,200}$"
_JOB_ID = re.compile(JOB_ID_PATTERN)
JOB_ID_RULE = f"1-{JOB_ID_MAX_LENGTH} characters of A-Z a-z 0-9 . _ : -"


def is_valid_job_id(value: object) -> bool:
    """True when `value` is a usable job id: safe in a ledger row, a subject and a URL."""
    return isinstance(value, str) and _JOB_ID.fullmatch(value) is not None
