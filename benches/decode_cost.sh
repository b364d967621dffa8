#!/usr/bin/env bash
# What decoding the application protocol costs (issue "subprotocols": at
# most 15 % on `dump --format jsonl`): a generated capture whose every
# message is a JSON-RPC 2.0 document, through `dump --format jsonl` with
# and without `--decode none`, and the text timeline likewise; best of three
# each, in one run, with the ratio.
#
#   bash benches/decode_cost.sh [MEGABYTES=256] [CONNECTIONS=200] [--bin BIN]
set -euo pipefail
cd "$(dirname "$0")/.."
mb=256 conns=200 bin=./target/release/wsscope
pos=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) pos+=("$1"); shift ;;
  esac
done
[ ${#pos[@]} -ge 1 ] && mb=${pos[0]}
[ ${#pos[@]} -ge 2 ] && conns=${pos[1]}
cargo build --release --quiet --example gencap
[ "$bin" = ./target/release/wsscope ] && cargo build --release --quiet
mkdir -p target/bench-data
cap=target/bench-data/json-${mb}mb.pcap
[ -f "$cap" ] || ./target/release/examples/gencap --json "$cap" "$mb" "$conns"

best() {
  local b=999999
  for _ in 1 2 3; do
    local s e t
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    e=$(date +%s%N)
    t=$(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.4f", (e-s)/1e9}')
    if awk -v t="$t" -v b="$b" 'BEGIN{exit !(t<b)}'; then b=$t; fi
  done
  echo "$b"
}

cat "$cap" >/dev/null
echo "== $(basename "$cap") ($(($(stat -c %s "$cap") / 1000000)) MB); $("$bin" dump --format jsonl --types message -c 20000 "$cap" | grep -c '"decoded"') of the first 20000 packets' messages decoded"
printf '%-44s %10s %10s %8s\n' command "--decode none" decoded "cost"
for cmd in "dump --format jsonl" "dump --format jsonl --threads 1" "dump" "dump --threads 1"; do
  # shellcheck disable=SC2086
  off=$(best "$bin" $cmd --decode none "$cap")
  # shellcheck disable=SC2086
  on=$(best "$bin" $cmd "$cap")
  awk -v c="$cmd" -v a="$off" -v b="$on" 'BEGIN{printf "%-44s %10.3f %10.3f %+7.1f%%\n", c, a, b, (b/a-1)*100}'
done
