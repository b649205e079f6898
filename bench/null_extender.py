"""An extender that decides nothing, as fast as Python answers: the floor under any extender.

bench/scheduler.py's `null`, `null-best` and `null-nodes` configurations put it where
weighbridge would be, so the pace kube-scheduler keeps with it is the most any extender
written in Python can reach on the same machine: whatever kube-scheduler spends encoding its
calls and decoding the answers, the round trips in its serial cycle, and the least an answer
costs to make. It speaks extender/v1's filter and prioritize (node names, or full Nodes whose
items it echoes as it got them) over keep-alive HTTP/1.1 on a bare asyncio protocol (no
framework), and answers every node passed (or, with --best, only the first) and every node
scored, in the shape of weighbridge's answers, so kube-scheduler decodes as much.

    python bench/null_extender.py --port 8888 [--best]
"""

from __future__ import annotations

import argparse
import asyncio
from typing import cast

import msgspec
import uvloop


class Meta(msgspec.Struct, frozen=True):
    name: str = ""


class Named(msgspec.Struct):
    metadata: Meta = Meta()


class Nodes(msgspec.Struct):
    """Full Nodes (nodeCacheCapable: false): each item kept as its bytes, to echo."""

    items: list[msgspec.Raw] = []


class Args(msgspec.Struct):
    """The candidates, by name or as Nodes; the Pod in the body is skipped, not decoded."""

    NodeNames: list[str] | None = None
    Nodes: Nodes | None = None

    def names(self) -> list[str]:
        if self.NodeNames is not None:
            return self.NodeNames
        items = self.Nodes.items if self.Nodes is not None else []
        return [NAMED.decode(item).metadata.name for item in items]


class NodeList(msgspec.Struct):
    items: list[msgspec.Raw]
    kind: str = "NodeList"
    apiVersion: str = "v1"


class FilterResult(msgspec.Struct):
    NodeNames: list[str] | None
    Nodes: NodeList | None
    FailedNodes: dict[str, str]
    FailedAndUnresolvableNodes: dict[str, str]
    Error: str = ""


class HostPriority(msgspec.Struct):
    Host: str
    Score: int


DECODER = msgspec.json.Decoder(Args)
NAMED = msgspec.json.Decoder(Named)
ENCODER = msgspec.json.Encoder()
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"


class NullExtender(asyncio.Protocol):
    """One connection: requests are read whole (Content-Length) and answered in order."""

    def __init__(self, best: bool) -> None:
        self.best = best
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            answer = self.answer(head.split(" ", 2)[1], body)
            assert self.transport is not None
            self.transport.write(HEAD % len(answer) + answer)

    def answer(self, path: str, body: bytes) -> bytes:
        """A verb's answer; any other path (the bench's readiness probe) gets `{}`."""
        if path.endswith("/prioritize"):
            return ENCODER.encode([HostPriority(n, 5) for n in DECODER.decode(body).names()])
        if path.endswith("/filter"):
            args = DECODER.decode(body)
            keep = 1 if self.best else None
            if args.Nodes is not None:
                nodes = NodeList(args.Nodes.items[:keep])
                return ENCODER.encode(FilterResult(None, nodes, {}, {}))
            names = args.NodeNames or []
            return ENCODER.encode(FilterResult(names[:keep], None, {}, {}))
        return b"{}"


async def serve(port: int, best: bool) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: NullExtender(best), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--best", action="store_true", help="pass only the first node")
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.best))


if __name__ == "__main__":
    main()
