"""System prompts: a definition's own prompt plus short notes on the tools every agent has.

deepagents appended fragments about its built-in tools to every agent's prompt (notes A.0,
Appendix 1), and prompts written for it assume them. We append our own, shorter notes in the
same places: the orchestrator gets an opening line, todos, files and the task tool (with the
list of subagents); a subagent gets todos and files. Parts are joined by a blank line.
"""

from __future__ import annotations

from collections.abc import Sequence

TOOLS_INTRO = "You have a set of standard tools for getting the user's objective done."

TODOS_NOTES = """\
## `write_todos`

For work with several steps, keep a todo list with `write_todos` (each call replaces the list): \
mark an item in_progress when you start it and completed as soon as it is done, and revise the \
list as you learn more. Skip it for simple requests, and call it at most once per turn."""

FILES_NOTES = """\
## Files: `ls`, `read_file`, `write_file`, `edit_file`, `glob`, `grep`

You work on a shared virtual filesystem; every path is absolute and starts with /.

- ls: list a directory
- read_file: read numbered lines of a file
- write_file: create a new file
- edit_file: replace exact text in a file
- glob: find files by a pattern such as "**/*.md"
- grep: find text in files"""

TASK_NOTES = """\
## `task`: delegating to subagents

`task` starts a short-lived subagent for one self-contained job. It sees only the description \
you write (so make it complete: what to do, what to produce, what to report) and the files; it \
works on its own and answers with a single message, which the user does not see. Delegate work \
that is multi-step, independent or heavy on context, and launch independent tasks together in \
one turn; do trivial steps yourself.

Available subagent types:"""

GENERAL_PURPOSE_PROMPT = (
    "You are a general-purpose agent doing one task delegated to you. Use your tools to "
    "complete it, then reply with a single message that reports the result."
)


def _join(parts: Sequence[str]) -> str:
    return "\n\n".join(part for part in parts if part)


def orchestrator_prompt(own: str, subagents: Sequence[tuple[str, str]]) -> str:
    """The orchestrator's prompt; `subagents` are `(subagent_type, description)` pairs."""
    roster = "\n".join(f"- {name}: {description}" for name, description in subagents)
    return _join([own, TOOLS_INTRO, TODOS_NOTES, FILES_NOTES, f"{TASK_NOTES}\n{roster}"])


def subagent_prompt(own: str) -> str:
    """A specialist's prompt (deepagents gave subagents no opening line and no task tool)."""
    return _join([own, TODOS_NOTES, FILES_NOTES])


def general_purpose_prompt() -> str:
    """The prompt of the general-purpose subagent."""
    return subagent_prompt(GENERAL_PURPOSE_PROMPT)
