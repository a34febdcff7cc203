"""A real MJPEG-over-HTTP camera on localhost, for source, supervisor and daemon tests."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from tests.ports import free_port


class _ReusableServer(ThreadingHTTPServer):
    allow_reuse_address = True  # restart on the same port right after stop()
    daemon_threads = True




class MjpegCamera:
    """Serves ``images`` as an MJPEG stream, one every ``interval`` s, on a fixed port.

    With ``loop`` the images repeat until :meth:`stop`; without, each is sent once and the
    connection then stays silent ``stall`` s before it closes. :meth:`pause` keeps connections
    open but silent, :meth:`stop` closes everything (connection refused), :meth:`start` serves
    again on the same port.
    """

    def __init__(self, images: list[np.ndarray], interval: float, *, loop: bool = True,
                 stall: float = 0.0):
        self.jpegs = [cv2.imencode(".jpg", image)[1].tobytes() for image in images]
        self.interval, self.loop, self.stall = interval, loop, stall
        self.port = free_port()
        self.paused = threading.Event()
        self.running = threading.Event()
        self.server: ThreadingHTTPServer | None = None

    def url(self, credentials: str = "") -> str:
        """The stream URL, optionally with ``user:password@`` credentials."""
        login = f"{credentials}@" if credentials else ""
        return f"http://{login}127.0.0.1:{self.port}/stream.mjpg"

    def _frames(self) -> Iterator[bytes]:
        return itertools.cycle(self.jpegs) if self.loop else iter(self.jpegs)

    def start(self) -> MjpegCamera:
        """Listen and serve (again); returns self."""
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                try:
                    for jpeg in camera._frames():
                        if not camera.running.is_set():
                            return
                        if not camera.paused.is_set():
                            head = (f"--frame\r\nContent-Type: image/jpeg\r\n"
                                    f"Content-Length: {len(jpeg)}\r\n\r\n")
                            self.wfile.write(head.encode() + jpeg + b"\r\n")
                            self.wfile.flush()
                        time.sleep(camera.interval)
                    time.sleep(camera.stall)
                except OSError:
                    pass  # the client went away

            def log_message(self, *args: object) -> None:
                pass

        self.paused.clear()
        self.running.set()
        self.server = _ReusableServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def pause(self) -> None:
        """Keep connections open but send nothing (a stalled camera)."""
        self.paused.set()

    def stop(self) -> None:
        """Close the listener and every stream (an unreachable camera)."""
        self.running.clear()
        server, self.server = self.server, None
        if server is not None:
            server.shutdown()
            server.server_close()
