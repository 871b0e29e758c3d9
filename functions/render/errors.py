"""Errors of the tenant tooling, in a module light enough to import first."""


class RenderError(RuntimeError):
    """Rendering failed; the message says which XR or function and why."""
