#!/usr/bin/env python3
"""A real WebSocket exchange on loopback for the live-capture tests: a
`websockets` echo server and client with permessage-deflate, sending known
messages (one compressible, one fragmented). Prints each client message as a
JSON line on stdout, in send order."""

import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

PORT = int(sys.argv[1])
COUNT = int(sys.argv[2]) if len(sys.argv) > 2 else 1


async def echo(ws):
    async for msg in ws:
        await ws.send(msg)


def log(kind, payload):
    if isinstance(payload, str):
        print(json.dumps({"opcode": "text", "text": payload}), flush=True)
    else:
        print(json.dumps({"opcode": "binary", "data_hex": payload.hex()}), flush=True)


async def main():
    async with serve(echo, "127.0.0.1", PORT, compression="deflate"):
        async with connect(f"ws://127.0.0.1:{PORT}/live", compression="deflate") as ws:
            for i in range(COUNT):
                for msg in [
                    f"live-hello-{i}",
                    bytes(range(64)),
                    "compress me " * 200,  # compressible: sent with RSV1
                ]:
                    await ws.send(msg)
                    log("data", msg)
                    await ws.recv()
                parts = [f"frag-{i}-a ", "frag-b ", "frag-c"]
                await ws.send(iter(parts))  # one message in several frames
                log("data", "".join(parts))
                await ws.recv()
            await ws.ping(b"live-ping")


asyncio.run(main())
