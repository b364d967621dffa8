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
         "$corpus/ws_session_upgraded" "$corpus/http_head" "$corpus/tcp_reassembly"
cargo run --quiet --release --manifest-path "$here/Cargo.toml" --features seedgen --bin seedgen -- \
    "$corpus" "$root"/fixtures/*.pcap "$root"/fixtures/*.pcapng
for t in pcap_file packets ws_session ws_session_upgraded http_head; do
    echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done
