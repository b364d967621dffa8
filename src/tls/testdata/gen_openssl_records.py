#!/usr/bin/env python3
"""Regenerates openssl_records.txt: TLS records made by OpenSSL (through
Python's ssl module over memory BIOs: no network, no capture) with the key
log OpenSSL wrote, for cipher.rs's external known-answer tests.

    python3 gen_openssl_records.py > openssl_records.txt

Needs the openssl CLI (a throwaway self-signed certificate). TLS 1.3 suites
are chosen through OPENSSL_CONF, so each TLS 1.3 vector runs in a child
process. Output is random each run (new randoms and keys); any run is valid.
"""
import os, ssl, struct, subprocess, sys, tempfile

REQUEST = b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"
RESPONSE = b"HTTP/1.1 101 Switching Protocols\r\n\r\n"
# SSL_OP_NO_ENCRYPT_THEN_MAC (OpenSSL 3: bit 19); Python has no name for it.
NO_ETM = 1 << 19


def records(b):
    out, i = [], 0
    while i + 5 <= len(b):
        n = struct.unpack(">H", b[i + 3:i + 5])[0]
        out.append(bytes(b[i:i + 5 + n]))
        i += 5 + n
    return out


def session(tmp, version, cipher, etm):
    keylog = os.path.join(tmp, "keys")
    if os.path.exists(keylog):
        os.remove(keylog)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem"))
    sctx.num_tickets = 0  # TLS 1.3: the server's first application record is seq 0
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.keylog_filename = keylog
    for c in (sctx, cctx):
        if version == "1.2":
            c.maximum_version = ssl.TLSVersion.TLSv1_2
            c.set_ciphers(cipher)
        else:
            c.minimum_version = ssl.TLSVersion.TLSv1_3
    if not etm:
        sctx.options |= NO_ETM
    ci, co, si, so = (ssl.MemoryBIO() for _ in range(4))
    client = cctx.wrap_bio(ci, co, server_hostname="localhost")
    server = sctx.wrap_bio(si, so, server_side=True)
    c2s, s2c = bytearray(), bytearray()

    def pump():
        d = co.read(); c2s.extend(d); si.write(d)
        d = so.read(); s2c.extend(d); ci.write(d)

    done = [False, False]
    while not all(done):
        for i, end in enumerate((client, server)):
            if not done[i]:
                try:
                    end.do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
        pump()
    client.write(REQUEST); pump()
    assert server.read(1000) == REQUEST
    server.write(RESPONSE); pump()
    assert client.read(1000) == RESPONSE
    return client, open(keylog).read(), records(c2s), records(s2c)


def emit(name, version, cipher=None, etm=True):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        os.path.join(tmp, "key.pem"), "-out", os.path.join(tmp, "cert.pem"),
                        "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
        client, keylog, c2s, s2c = session(tmp, version, cipher, etm)
        suite = s2c[0][5 + 4 + 2 + 32 + 1 + s2c[0][5 + 4 + 2 + 32]:][:2].hex()
        print(f"vector {name} {suite} {int(etm)}  # {client.version()} {client.cipher()[0]}")
        for line in keylog.splitlines():
            if line and not line.startswith("#"):
                print("keylog", line)
        print("server_random", s2c[0][11:43].hex())
        # Encrypted records only (after ChangeCipherSpec; TLS 1.3 type 23).
        for direction, recs, app in (("c2s", c2s, REQUEST), ("s2c", s2c, RESPONSE)):
            enc = [r for r in recs[recs.index(next(r for r in recs if r[0] == 20)) + 1:] if r[0] != 20]
            if version == "1.2":  # Finished (seq 0), application data (seq 1)
                print("record", direction, "tls12", 0, 22, enc[0].hex(), "finished")
                print("record", direction, "tls12", 1, 23, enc[1].hex(), app.hex())
            else:  # handshake epoch, then application epoch from seq 0
                for seq, r in enumerate(enc[:-1]):
                    print("record", direction, "hs", seq, 22, r.hex(), "handshake")
                print("record", direction, "app", 0, 23, enc[-1].hex(), app.hex())


if __name__ == "__main__":
    if len(sys.argv) == 3:  # child: one TLS 1.3 vector under OPENSSL_CONF
        emit(sys.argv[1], "1.3")
        sys.exit()
    print("# TLS records made by OpenSSL", ssl.OPENSSL_VERSION, "with its key log; see gen_openssl_records.py.")
    print("# record <dir> <epoch> <seq> <content type> <record hex> <plaintext hex | finished | handshake>")
    sys.stdout.flush()
    emit("tls12-aes128gcm", "1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    emit("tls12-aes256gcm", "1.2", "ECDHE-RSA-AES256-GCM-SHA384")
    emit("tls12-chacha20", "1.2", "ECDHE-RSA-CHACHA20-POLY1305")
    emit("tls12-aes128cbc-sha-etm", "1.2", "ECDHE-RSA-AES128-SHA", etm=True)
    emit("tls12-aes128cbc-sha", "1.2", "ECDHE-RSA-AES128-SHA", etm=False)
    emit("tls12-aes256cbc-sha384", "1.2", "ECDHE-RSA-AES256-SHA384", etm=False)
    emit("tls12-rsa-aes256cbc-sha256-etm", "1.2", "AES256-SHA256", etm=True)
    sys.stdout.flush()
    for suite in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"):
        with tempfile.NamedTemporaryFile("w", suffix=".cnf") as cnf:
            cnf.write("openssl_conf = openssl_init\n[openssl_init]\nssl_conf = ssl_sect\n"
                      "[ssl_sect]\nsystem_default = sys\n[sys]\nCiphersuites = " + suite + "\n")
            cnf.flush()
            subprocess.run([sys.executable, __file__, "tls13-" + suite, "child"], check=True,
                           env=dict(os.environ, OPENSSL_CONF=cnf.name))
