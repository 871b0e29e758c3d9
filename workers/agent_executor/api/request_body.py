"""Reading a request body with a size limit, so no client makes the worker buffer gigabytes."""

from __future__ import annotations

from fastapi import Request


class BodyTooLargeError(ValueError):
    """The request body is larger than the route accepts."""

    type = "BodyTooLarge"


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLargeError as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(f"the body is {declared} bytes, more than the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(f"the body is more than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
