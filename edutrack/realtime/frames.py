"""Server-to-client websocket text frames, built once per event and written as they are to every socket.

A server frame is not masked (RFC 6455, 5.1) and /ws never negotiates permessage-deflate (the handler passes
`compress=False`), so the bytes of a frame do not depend on the socket: an event fanned out to 30 sockets of a
node is UTF-8 encoded and framed once, instead of once per socket by aiohttp's writer.
"""

from __future__ import annotations

import struct

_FIN_TEXT = 0x81  # FIN + opcode 1 (text), RSV bits clear: not compressed
_LEN2 = struct.Struct("!BBH")
_LEN3 = struct.Struct("!BBQ")

def text_frame(text: str) -> bytes:
    """One complete, unfragmented text frame carrying `text`."""
    payload = text.encode("utf-8")
    size = len(payload)
    if size < 126:
        return bytes((_FIN_TEXT, size)) + payload
    if size < 65536:
        return _LEN2.pack(_FIN_TEXT, 126, size) + payload
    return _LEN3.pack(_FIN_TEXT, 127, size) + payload


class FrameCache:
    """The fan-out hands the same str object to every local subscriber of an event: remember the last one, so
    each event is framed once per node. Identity, not equality: comparing long strings would cost what it saves.
    One per gateway (per app), like every other resource."""

    def __init__(self) -> None:
        self._last_text: str | None = None
        self._last_frame = b""

    def frame(self, text: str) -> bytes:
        if text is not self._last_text:
            self._last_text, self._last_frame = text, text_frame(text)
        return self._last_frame
