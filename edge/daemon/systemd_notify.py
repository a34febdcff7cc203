"""The systemd notify protocol (``sd_notify(3)``) in a few lines: one datagram per message.

systemd hands a ``Type=notify`` service the socket in ``$NOTIFY_SOCKET``: a filesystem path, or
an abstract-namespace name written with a leading ``@``. Each message is a datagram of
newline-separated ``KEY=VALUE`` lines, e.g. ``READY=1``, ``STATUS=...``, ``WATCHDOG=1``.
Outside systemd (tests, a terminal, ``edge replay``) the variable is unset and every call is a
no-op, so callers never need to check.

Usage::

    notify("READY=1", "STATUS=store open, web on :8080")
    interval = watchdog_interval_s()      # None when WatchdogSec is not set for this process
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

__all__ = ["notify", "notify_socket_address", "watchdog_interval_s"]

log = logging.getLogger(__name__)


def notify_socket_address(env: Mapping[str, str] | None = None) -> str | bytes | None:
    """The address to send to: a path, abstract bytes (``@name`` -> ``b"\\0name"``), or None."""
    value = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def notify(*lines: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``lines`` as one notify message; True when sent, False when there is no socket.

    A failure to send is logged, never raised: losing one status line must not stop the daemon
    (a missed WATCHDOG=1 is exactly what the watchdog is there to notice).

    :param lines: ``KEY=VALUE`` strings; a value must not contain a newline.
    :raises ValueError: when a line is not ``KEY=VALUE`` or contains a newline.
    """
    for line in lines:
        if "=" not in line or "\n" in line:
            raise ValueError(f"notify line must be KEY=VALUE without newlines: {line!r}")
    address = notify_socket_address(env)
    if address is None or not lines:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(lines).encode("utf-8"), address)
    except OSError as exc:
        log.warning("sd_notify to %r failed: %s", address, exc)
        return False
    return True


def watchdog_interval_s(env: Mapping[str, str] | None = None) -> float | None:
    """How often to send ``WATCHDOG=1``: half of ``$WATCHDOG_USEC`` (as sd_watchdog_enabled).

    None when the watchdog is off, or when ``$WATCHDOG_PID`` names another process (the
    variables were inherited from a parent and are not meant for us).
    """
    env = os.environ if env is None else env
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid.isdigit() and int(pid) != os.getpid()):
        return None
    return usec / 2e6
