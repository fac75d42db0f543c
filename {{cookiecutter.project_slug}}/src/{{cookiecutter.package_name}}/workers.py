"""gunicorn's gevent worker, made to take its connections in turn.

After each response gunicorn reads the connection's next request. A client
that keeps up has often sent it already, so the read returns without yielding
to gevent's hub, and that one connection is served again and again while the
others wait. Measured in the template's benchmark (64 connections, one CPU),
gunicorn's own gevent worker had 9 times this one's p99 on trivial requests and
28 times on ones that compute: this one yields after every response, which
puts each connection behind the others already waiting. gunicorn.conf.py uses it
for GUNICORN_WORKER_CLASS=gevent.
"""

import gevent
from gunicorn.workers import ggevent


class GeventWorker(ggevent.GeventWorker):
    def handle_request(self, listener_name, req, sock, addr) -> None:
        try:
            super().handle_request(listener_name, req, sock, addr)
        finally:
            gevent.sleep(0)  # to the back of the queue, behind every ready connection
