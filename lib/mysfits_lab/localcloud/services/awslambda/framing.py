"""The framing the cloud and a function's runtime (``bootstrap.py``) speak on a Unix socket.

Standard library only: the runtime loads this file as it runs in isolated mode (``-I -S``),
outside the package. A message is an 8-byte prefix — the lengths of a JSON header and of a raw
body, 4 bytes big-endian each — then the header (UTF-8 JSON), then the body.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any

_PREFIX = struct.Struct(">II")
MAX_HEADER = 1 << 20


class ProtocolError(Exception):
    """The other side sent something that is not a message of this protocol."""


def send_message(sock: socket.socket, header: dict[str, Any], body: bytes = b"") -> None:
    head = json.dumps(header, separators=(",", ":")).encode()
    sock.sendall(_PREFIX.pack(len(head), len(body)) + head + body)


def receive_message(
    sock: socket.socket, max_body: int, deadline: float | None = None
) -> tuple[dict[str, Any], bytes]:
    """One message; EOFError when the peer closed, TimeoutError past ``deadline`` (a
    ``time.monotonic()`` instant), ProtocolError for a frame larger than allowed."""
    header_size, body_size = _PREFIX.unpack(_read_exactly(sock, _PREFIX.size, deadline, True))
    if header_size > MAX_HEADER or body_size > max_body:
        raise ProtocolError(f"a message of {header_size} + {body_size} bytes is too large")
    try:
        header = json.loads(_read_exactly(sock, header_size, deadline))
    except ValueError as exc:
        raise ProtocolError(f"unreadable header: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("the header is not a JSON object")
    return header, _read_exactly(sock, body_size, deadline)


def _read_exactly(
    sock: socket.socket, size: int, deadline: float | None, at_boundary: bool = False
) -> bytes:
    if deadline is None:
        sock.settimeout(None)
    buffer = bytearray(size)
    view, done = memoryview(buffer), 0
    while done < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no answer in time")
            sock.settimeout(remaining)
        try:
            count = sock.recv_into(view[done:])
        except TimeoutError:
            raise
        except OSError as exc:  # reset by a dying peer
            raise EOFError(str(exc)) from None
        if count == 0:
            if at_boundary and done == 0:
                raise EOFError("closed")
            raise EOFError(f"closed after {done} of {size} bytes")
        done += count
    return bytes(buffer)
