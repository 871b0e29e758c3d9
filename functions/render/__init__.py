"""Tenant tooling behind the `agentplane` CLI: local composition rendering."""
