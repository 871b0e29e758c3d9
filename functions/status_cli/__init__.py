"""`agentplane status`: the fleet of agent executor workers, from their heartbeats."""
