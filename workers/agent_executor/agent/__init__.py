"""The LangGraph agent the worker runs (DESIGN section 6).

`definition` parses the seed `agent_definition`, `files` holds the virtual filesystem and the
built-in tools, `scripts` runs tool scripts in a subprocess, `llm` streams chat completions
through the `openai` SDK, and `graph` wires them into a flat, checkpoint-friendly graph.
The service around the agent plugs in through the protocols in `ports`.
"""
