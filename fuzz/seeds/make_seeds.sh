#!/bin/sh
# Regenerates the checked-in seed corpora fuzz/seeds/<target>/ from the
# bundled captures (fixtures/*.pcap, *.pcapng, those up to 16 KiB) and the
# TLS unit tests' recorded handshakes (src/tls/testdata/*.hex). Seeds are a
# few KB each, so libFuzzer's default max_len stays small and runs stay fast.
#
#   fuzz/seeds/make_seeds.sh            # from the repository root or anywhere
#
# Never seed from ../shared/corpus (third-party captures: not ours to commit).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)     # .../fuzz
root=$(dirname "$here")
seeds="$here/seeds"
for t in pcap_file packets ws_session ws_session_upgraded http_head tcp_reassembly tls_parse tls_layer; do
    rm -rf "${seeds:?}/$t"
    mkdir -p "$seeds/$t"
done
cargo run --quiet --release --manifest-path "$here/Cargo.toml" --features seedgen --bin seedgen -- \
    "$seeds" "$root"/fixtures/*.pcap "$root"/fixtures/*.pcapng
# tls_parse: `flags split` + the TLS bytes of each recorded flight, and of
# each direction's whole stream, from the unit tests' handshakes.
for f in "$root"/src/tls/testdata/*.hex; do
    name=$(basename "$f" .hex)
    n=0
    grep -v '^#' "$f" | while read -r dir hex; do
        n=$((n + 1))
        { printf '\000\020'; echo "$hex" | xxd -r -p; } > "$seeds/tls_parse/$name-$n-$dir"
    done
    for dir in c2s s2c; do
        { printf '\000\007'; grep "^$dir " "$f" | cut -d' ' -f2 | tr -d '\n' | xxd -r -p; } \
            > "$seeds/tls_parse/$name-$dir"
    done
done
for t in pcap_file packets ws_session ws_session_upgraded http_head tcp_reassembly tls_parse tls_layer; do
    echo "$t: $(ls "$seeds/$t" | wc -l) seeds, $(du -sk "$seeds/$t" | cut -f1) KiB"
done
