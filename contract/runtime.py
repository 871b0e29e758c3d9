"""The worker image as the Deployment runs it: port, probes, user, commands, grace period."""

from __future__ import annotations

HTTP_PORT = 8080
HTTP_PORT_NAME = "http"
# In a pod the worker must listen on the pod IP: the Service, the kubelet's probes and the
# Prometheus scrape all arrive there, and the NetworkPolicy decides who gets through. The
# Deployment sets it explicitly (HOST); a worker started by hand keeps to loopback instead.
POD_LISTEN_HOST = "0.0.0.0"  # noqa: S104 - the pod's own network namespace
LOCAL_LISTEN_HOST = "127.0.0.1"
# Where the platform tree runs Prometheus (apps/components/observability.yaml deploys its
# rules there): admitted by every executor's NetworkPolicy so /metrics can be scraped.
MONITORING_NAMESPACE = "monitoring"
HEALTH_PATH = "/health"
READY_PATH = "/ready"
METRICS_PATH = "/metrics"

# The `secrets.llmKeys` Secret as files (env.LLM_KEYS_DIR): a volume, unlike a variable, is
# updated in a running pod when the Secret changes.
LLM_KEYS_VOLUME = "llm-keys"
LLM_KEYS_MOUNT_PATH = "/var/run/secrets/agentplane/llm-keys"

# The worker image runs as this numeric user; pinning it lets runAsNonRoot be verified.
RUN_AS_USER = 10001

WORKER_COMMAND = ("python", "-m", "workers.agent_executor")
PRUNE_COMMAND = (*WORKER_COMMAND, "prune")
# Applies every schema change, the checkpointer's included, before the worker starts.
MIGRATIONS_COMMAND = ("/app/scripts/ci/run-migrations.sh",)

# Long agent steps need time to finish or checkpoint after SIGTERM; the worker
# gets a little less than the pod so it can nak what it could not finish.
TERMINATION_GRACE_SECONDS = 300
SHUTDOWN_MARGIN_SECONDS = 15
SHUTDOWN_TIMEOUT_SECONDS = TERMINATION_GRACE_SECONDS - SHUTDOWN_MARGIN_SECONDS
