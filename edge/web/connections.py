"""uvicorn's HTTP/1.1 protocol with connection limits: per client, and a deadline for the first
request of a connection.

1,100 idle TCP connections (no request sent, nothing for uvicorn to time out) used up the
process's file descriptors and the page stopped answering everyone. Like nginx's
``limit_conn`` and ``client_header_timeout``: a client address holds at most
:data:`MAX_PER_CLIENT` connections (more are closed at once) and a connection that has not
started a request within :data:`FIRST_REQUEST_TIMEOUT_S` is closed. Keep-alive idling after a
request is uvicorn's own ``timeout_keep_alive``. The unit also raises ``LimitNOFILE``.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["FIRST_REQUEST_TIMEOUT_S", "MAX_PER_CLIENT", "LimitedH11Protocol"]

log = logging.getLogger(__name__)

# A page holds its live stream plus a few parallel fetches; several tabs or a technician's
# laptop behind the same address stay far below this.
MAX_PER_CLIENT = 32
FIRST_REQUEST_TIMEOUT_S = 10.0


class LimitedH11Protocol(H11Protocol):
    """Pass as ``uvicorn.Config(http=LimitedH11Protocol)``."""

    max_per_client = MAX_PER_CLIENT
    first_request_timeout_s = FIRST_REQUEST_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else None
        same = sum(1 for c in self.connections if getattr(c, "client", None)
                   and c.client[0] == host)
        if same > self.max_per_client:
            log.warning("web: %s holds %d connections (limit %d); closing the new one",
                        host, same - 1, self.max_per_client)
            transport.close()
            return
        self._first_request = self.loop.call_later(self.first_request_timeout_s,
                                                   self._close_without_request)

    def connection_lost(self, exc: Exception | None) -> None:
        first = getattr(self, "_first_request", None)
        if first is not None:
            first.cancel()
        super().connection_lost(exc)

    def _close_without_request(self) -> None:
        if self.scope is None and not self.transport.is_closing():
            self.transport.close()
