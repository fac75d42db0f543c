"""gunicorn's gevent worker, made to take its connections in turn and to send
each response in one write.

After each response gunicorn reads the connection's next request. A client
that keeps up has often sent it already, so the read returns without yielding
to gevent's hub, and that one connection is served again and again while the
others wait. This worker yields after every response, which puts each
connection behind the others already waiting.

gunicorn also sends a response's headers and its body in two writes, two
system calls and two TCP segments where one does: `OneSend` joins them.

gunicorn.conf.py uses this worker for GUNICORN_WORKER_CLASS=gevent; the
template's docs/benchmarks.md compares it with gunicorn's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gevent
from gunicorn.workers import ggevent

if TYPE_CHECKING:
    import socket

    from _typeshed import ReadableBuffer
    from gunicorn.http.message import Request

# A header block that declares its body's length is followed at once by the body's write,
# even an empty one; a chunked or unframed one may wait on the app, so it is not held.
DECLARED_LENGTH = b"\r\ncontent-length:"


class OneSend:
    """The client socket for one request: the response's header block waits
    for the body's first bytes, and both leave in one send. Anything else
    asked of the socket (sendfile, recv, a websocket's own writes) sends what
    waits first."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.held = b""
        self.first = True

    def sendall(self, data: ReadableBuffer) -> None:
        first, self.first = self.first, False
        if first and isinstance(data, bytes) and DECLARED_LENGTH in data.lower():
            self.held = data
            return
        if self.held:
            data, self.held = self.held + data, b""
        self.sock.sendall(data)

    def flush(self) -> None:
        if self.held:
            data, self.held = self.held, b""
            self.sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self.sock, name)


class GeventWorker(ggevent.GeventWorker):
    def handle_request(
        self, listener_name: object, req: Request, sock: socket.socket, addr: object
    ) -> None:
        client = OneSend(sock)
        try:
            super().handle_request(listener_name, req, client, addr)
        finally:
            try:
                client.flush()  # a body-less response (HEAD, 304) leaves here
            finally:
                gevent.sleep(0)  # to the back of the queue, behind every ready connection
