#!/usr/bin/env bash
# What decrypting wss:// costs: the same WebSocket traffic as plaintext and
# inside TLS 1.3 (AES-128-GCM, key log beside it), generated in lockstep by
# `gencap --wss` (benches/synth/tls.rs), timed in one run:
#   wsscope dump --format jsonl plain.pcap
#   wsscope dump --format jsonl --keylog K wss.pcap
#   wsscope conns plain.pcap  /  wsscope conns --keylog K wss.pcap
# Median of 3 wall times each; MB/s over each file's size; the ratio
# wss/plaintext in time for the same traffic (the aim: within 1.5x).
#   bash benches/wss_compare.sh [MEGABYTES=256] [CONNECTIONS=500]
# Set KEEP_GOING=1 to skip the sanity check (both captures give the same
# WebSocket messages and every wss connection decrypts).
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-256}
conns=${2:-500}
dir=target/bench-data
prefix=$dir/wss-${mb}mb
plain=$prefix-plain.pcap
wss=$prefix-wss.pcap
keys=$prefix-wss.keys
bin=./target/release/wsscope
cargo build --release --quiet --example gencap
cargo build --release --quiet
mkdir -p "$dir"
if [ ! -f "$wss" ] || [ ! -f "$plain" ] || [ ! -f "$keys" ]; then
  ./target/release/examples/gencap --wss "$prefix" "$mb" "$conns"
fi
size_p=$(stat -c %s "$plain")
size_w=$(stat -c %s "$wss")

median() { # median wall time of 3 runs, in seconds
  local ts=()
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    ts+=("$(echo "$e $s" | awk '{print $1-$2}')")
  done
  printf '%s\n' "${ts[@]}" | sort -g | sed -n 2p
}

if [ -z "${KEEP_GOING:-}" ]; then
  # Same traffic, fully decrypted: per-connection frame and message counts
  # of the wss capture equal the plaintext's, and every wss connection is
  # `wss` (decrypted WebSocket).
  sum() { jq -s -r '[length, (map(.c2s.frames + .s2c.frames) | add), (map(.c2s.messages + .s2c.messages) | add)] | @tsv'; }
  cp=$("$bin" conns --format jsonl "$plain" | sum)
  cw=$("$bin" conns --format jsonl --keylog "$keys" "$wss" | sum)
  nw=$("$bin" conns --format jsonl --keylog "$keys" "$wss" | jq -s '[.[] | select(.protocol != "wss")] | length')
  echo "connections, frames, messages: plaintext $cp | wss $cw | wss connections not decrypted: $nw"
  if [ "$cp" != "$cw" ] || [ "$nw" != 0 ]; then
    echo "the two captures do not analyse to the same WebSocket traffic" >&2
    exit 1
  fi
fi

cat "$plain" "$wss" >/dev/null # warm the page cache
t_dp=$(median "$bin" dump --format jsonl "$plain")
t_dw=$(median "$bin" dump --format jsonl --keylog "$keys" "$wss")
t_cp=$(median "$bin" conns "$plain")
t_cw=$(median "$bin" conns --keylog "$keys" "$wss")

printf '%-46s %9s %9s %8s\n' "command (median of 3)" "seconds" "MB/s" "wss/pt"
row() { awk -v n="$1" -v t="$2" -v s="$3" -v b="$4" 'BEGIN{r=(b>0)?sprintf("%.2fx", t/b):""; printf "%-46s %9.3f %9.0f %8s\n", n, t, s/1e6/t, r}'; }
row "dump --format jsonl   plain.pcap" "$t_dp" "$size_p" 0
row "dump --format jsonl   --keylog K wss.pcap" "$t_dw" "$size_w" "$t_dp"
row "conns                 plain.pcap" "$t_cp" "$size_p" 0
row "conns                 --keylog K wss.pcap" "$t_cw" "$size_w" "$t_cp"
awk -v p="$size_p" -v w="$size_w" 'BEGIN{printf "files: plain %.1f MB, wss %.1f MB (+%.1f%% TLS bytes); ratios are times for the same WebSocket traffic\n", p/1e6, w/1e6, (w/p-1)*100}'
