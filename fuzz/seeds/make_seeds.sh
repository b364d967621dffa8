#!/bin/sh
# Seeds the fuzz corpora from the bundled captures (fixtures/*.pcap, *.pcapng).
# Writes into fuzz/corpus/<target>/ (gitignored): the captures themselves for
# pcap_file, and — via the `seedgen` helper — the same traffic converted to the
# input formats of `packets`, `ws_session` and `http_head`.
#
#   fuzz/seeds/make_seeds.sh            # from the repository root or anywhere
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)     # .../fuzz
root=$(dirname "$here")
corpus="$here/corpus"
mkdir -p "$corpus/pcap_file" "$corpus/packets" "$corpus/ws_session" \
         "$corpus/ws_session_upgraded" "$corpus/http_head" "$corpus/tcp_reassembly" \
         "$corpus/tls_parse"
cargo run --quiet --release --manifest-path "$here/Cargo.toml" --features seedgen --bin seedgen -- \
    "$corpus" "$root"/fixtures/*.pcap "$root"/fixtures/*.pcapng
# tls_parse: `flags split` + the TLS bytes of each recorded flight, and of
# each direction's whole stream, from the unit tests' handshakes.
for f in "$root"/src/tls/testdata/*.hex; do
    name=$(basename "$f" .hex)
    n=0
    grep -v '^#' "$f" | while read -r dir hex; do
        n=$((n + 1))
        { printf '\000\020'; echo "$hex" | xxd -r -p; } > "$corpus/tls_parse/$name-$n-$dir"
    done
    for dir in c2s s2c; do
        { printf '\000\007'; grep "^$dir " "$f" | cut -d' ' -f2 | tr -d '\n' | xxd -r -p; } \
            > "$corpus/tls_parse/$name-$dir"
    done
done
for t in pcap_file packets ws_session ws_session_upgraded http_head tls_parse; do
    echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done
