#!/usr/bin/env python3
"""Loopback load for measuring live capture: a WebSocket server (real
handshake, correct accept) and a client that sends N small masked frames,
each in its own TCP segment (TCP_NODELAY), at a target rate (0 = flat out).
Prints "sent N frames in T s"."""
import base64, hashlib, os, socket, struct, sys, threading, time

port, n, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(1)

def serve():
    c, _ = srv.accept()
    head = b""
    while b"\r\n\r\n" not in head:
        head += c.recv(4096)
    key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key")][0]
    acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
    while c.recv(1 << 16):
        pass

t = threading.Thread(target=serve, daemon=True); t.start()
cl = socket.create_connection(("127.0.0.1", port)); cl.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
key = base64.b64encode(os.urandom(16))
cl.sendall(b"GET /blast HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
resp = b""
while b"\r\n\r\n" not in resp:
    resp += cl.recv(4096)
mask = b"\x01\x02\x03\x04"
payload = b"tick 0123456789"
frame = bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
start = time.perf_counter()
for i in range(n):
    cl.send(frame)
    if rate:
        target = start + (i + 1) / rate
        while time.perf_counter() < target:
            pass
dt = time.perf_counter() - start
cl.close(); time.sleep(0.2)
print(f"sent {n} frames in {dt:.3f} s ({n/dt:.0f} frames/s)")
