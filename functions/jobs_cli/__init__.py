"""`agentplane jobs`: submit a job to the agent executor, follow it live, get it, cancel it.

Producers and operators talk to the executor the two ways it listens: NATS JetStream (jobs in,
results out, progress events in Redis) or the worker's HTTP API (`POST /jobs`, Server-Sent
Events). Nothing here imports the worker: the wire formats are restated as pydantic models.
"""
