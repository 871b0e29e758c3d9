"""Per-job limits: every job ends (DESIGN section 6, "Limits")."""

from __future__ import annotations

# LangGraph supersteps one job may take; a model that keeps calling tools stops here.
DEFAULT_MAX_STEPS = 200
MAX_STEPS_CEILING = 10_000
# Wall-clock time of one job across all its attempts' running time.
DEFAULT_TIMEOUT_SECONDS = 1800
TIMEOUT_CEILING_SECONDS = 86_400
# The result event's data: well inside the platform NATS max_payload (4 MiB), with room
# for the CloudEvent envelope and headers.
DEFAULT_MAX_RESULT_BYTES = 3 * 1024 * 1024
MAX_RESULT_BYTES_CEILING = 64 * 1024 * 1024

# Error types of a job failed by a limit.
STEP_LIMIT_EXCEEDED = "StepLimitExceeded"
TIMEOUT_EXCEEDED = "TimeoutExceeded"
RESULT_TOO_LARGE = "ResultTooLarge"
