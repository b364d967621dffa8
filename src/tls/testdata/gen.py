"""Records the TLS handshakes in src/tls/testdata/*.hex: Python's ssl client
and server (OpenSSL 3.0.19 here), in-process over MemoryBIOs, no network.
Each file is a comment line (version, suite, ALPN, resumed) and then one
line per flight as it left its sender: `<c2s|s2c> <hex of the TLS records>`.

    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout key.pem -out cert.pem -subj /CN=ws.test -days 3650
    python3 gen.py      # writes the three .hex files into the current dir

Randoms and keys differ on every run: the unit tests name the values of
the recorded files, so re-recording means updating them."""
import ssl, sys

def client_ctx(maxv, alpn):
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.maximum_version = maxv
    cctx.set_alpn_protocols(alpn)
    return cctx

def handshake(cctx, sni, session=None):
    sctx = handshake.sctx
    ci, co, si, so = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = cctx.wrap_bio(ci, co, server_hostname=sni, session=session)
    s = sctx.wrap_bio(si, so, server_side=True)
    flights = []
    for _ in range(10):
        for (end, out, peer_in, d) in ((c, co, si, "c2s"), (s, so, ci, "s2c")):
            try:
                end.do_handshake()
            except ssl.SSLWantReadError:
                pass
            b = out.read()
            if b:
                flights.append((d, b))
                peer_in.write(b)
    try:
        c.read(1)  # take the TLS 1.3 tickets
    except ssl.SSLWantReadError:
        pass
    return c, flights

sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
sctx.load_cert_chain("cert.pem", "key.pem")
sctx.set_alpn_protocols(["http/1.1"])
handshake.sctx = sctx

def dump(name, flights, c):
    with open(name, "w") as f:
        f.write(f"# {c.version()} {c.cipher()[0]} alpn={c.selected_alpn_protocol()} resumed={c.session_reused}\n")
        for d, b in flights:
            f.write(f"{d} {b.hex()}\n")

cctx = client_ctx(ssl.TLSVersion.TLSv1_2, ["http/1.1"])
c, fl = handshake(cctx, "ws.example.com")
dump("tls12_full.hex", fl, c)
c2, fl2 = handshake(cctx, "ws.example.com", session=c.session)
dump("tls12_resumed.hex", fl2, c2)
c3, fl3 = handshake(client_ctx(ssl.TLSVersion.TLSv1_3, ["http/1.1", "h2"]), "ws.example.com")
dump("tls13_full.hex", fl3, c3)
