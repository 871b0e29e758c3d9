"""Names of a tenant's NATS users, their password variables and Parameter Store keys.

Three roles per tenant account (contract/nats_permissions.py). A credential
generation is part of every name, so a rotation adds a second, independent user
beside the first instead of changing a password under running clients.
"""

from __future__ import annotations

import re

from scripts.tenancy.registry import RegistryEntry

ROLES = ("worker", "producer", "nack")
PARAMETER_PREFIX = "/bizmatters/nats"
ADMIN_PASSWORD_VARIABLE = "NATS_ADMIN_PASSWORD"  # noqa: S105 - a variable's name
ADMIN_PARAMETER = f"{PARAMETER_PREFIX}/admin-password"
# The Secret in namespace `nats` whose keys the server reads as environment variables.
SERVER_SECRET = "nats-auth"  # noqa: S105 - a Secret's name

# The Secret each role's credentials land in, in the tenant's namespace. `worker` is the
# AgentExecutor's `secrets.nats` default; `nack` is what the NACK Account resource reads.
TENANT_SECRETS = {
    "worker": "nats-credentials",
    "producer": "nats-producer-credentials",
    "nack": "nats-jetstream-admin",
}


def user_name(entry: RegistryEntry, role: str, generation: int) -> str:
    """The NATS user of `role` in the tenant's account (user names are server-wide)."""
    return f"{entry.namespace}-{role}-g{generation}"


def password_variable(entry: RegistryEntry, role: str, generation: int) -> str:
    """The environment variable (and `nats-auth` key) the server reads the password from."""
    token = re.sub(r"[^A-Z0-9]", "_", entry.namespace.upper())
    return f"NATS_{token}_{role.upper()}_G{generation}_PASSWORD"


def parameter(entry: RegistryEntry, role: str, generation: int) -> str:
    """The Parameter Store key (SecureString) that holds the password."""
    return f"{PARAMETER_PREFIX}/tenants/{entry.namespace}/{role}-g{generation}"
