"""`agentplane migrate`: zerotouch-platform claims to AgentExecutor claims.

`sources` models the claims it reads (`EventDrivenService`, and the flat `AgentExecutor` of
that project's design documents); `convert` maps them field by field into this platform's
`AgentExecutor`, with a `report` entry for every field; `command` is the CLI edge (files in,
YAML out, the report on stderr).
"""
