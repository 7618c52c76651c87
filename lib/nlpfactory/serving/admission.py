"""What keeps `nlpfactory serve` inside a fixed memory budget under any load.

A request is admitted (before its body is read) only while fewer than `workers + queue`
requests are inside; the rest get 503 with Retry-After at once, so waiting clients cost a
socket, not a body. Admitted requests run the model `workers` at a time, each in batches of
at most `batch_size` texts truncated to the model's max_length, so the activations alive at
once are bounded by workers x batch_size x max_length.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

from nlpfactory.serving.protocols import BadRequest


class Gate:
    def __init__(self, workers: int, queue: int):
        self.workers, self.queue = workers, queue
        self.inside = 0
        self._running = asyncio.Semaphore(workers)

    @asynccontextmanager
    async def admitted(self):
        if self.inside >= self.workers + self.queue:
            raise BadRequest(503, f"the server is busy ({self.workers} requests running, {self.queue} waiting); "
                                  "retry shortly or add replicas")
        self.inside += 1
        try:
            yield
        finally:
            self.inside -= 1

    @asynccontextmanager
    async def running(self):
        async with self._running:
            yield


async def read_json(request, limit: int):
    """The parsed body, or BadRequest: 413 over `limit` bytes, 400 for anything JSON cannot
    parse safely (syntax, bad UTF-8, nesting deeper than the parser's recursion limit,
    integers longer than Python's digit limit)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"the request body is {declared} bytes; at most {limit} are accepted")
    body = bytearray()
    async for part in request.stream():  # also bounds chunked bodies, which declare no length
        body += part
        if len(body) > limit:
            raise BadRequest(413, f"the request body is over {limit} bytes; send fewer or shorter texts")
    try:
        return json.loads(body)
    except RecursionError:
        raise BadRequest(400, "the body nests JSON too deeply; send a flat list of texts") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, the int digit limit
        raise BadRequest(400, f"the body is not valid JSON ({err}); send e.g. {{\"texts\": [\"...\"]}}") from None
