"""The one error of `agentplane jobs` that is not a job's own outcome."""


class JobsError(RuntimeError):
    """A usage or connection problem; the CLI prints the message (naming what is wrong), exits 2.

    Messages never carry a password or token: servers are named by their redacted URL.
    """
