#!/usr/bin/env bash
# Puts wsscope's throughput next to `cat FILE > /dev/null` and tshark on the
# same generated capture, in one run (ratios, since machines are noisy).
#   bash benches/compare.sh [MEGABYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-256}
file=target/bench-data/synth-${mb}mb.pcap
cargo build --release --quiet --example gencap
cargo build --release --quiet
mkdir -p target/bench-data
[ -f "$file" ] || ./target/release/examples/gencap "$file" "$mb" 500
size=$(stat -c %s "$file")
best() { # best wall time of 3 runs, in seconds
  local b=999999
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    b=$(echo "$e $s $b" | awk '{t=$1-$2; print (t<$3)?t:$3}')
  done
  echo "$b"
}
cat "$file" >/dev/null # warm the page cache
t_cat=$(best cat "$file")
t_conns=$(best ./target/release/wsscope conns "$file")
t_dump=$(best ./target/release/wsscope dump --format jsonl "$file")
printf '%-44s %8s %10s %10s\n' "command" "seconds" "MB/s" "x cat"
row() { awk -v n="$1" -v t="$2" -v s="$size" -v c="$t_cat" 'BEGIN{printf "%-44s %8.3f %10.0f %10.1f\n", n, t, s/1e6/t, t/c}'; }
row "cat FILE > /dev/null" "$t_cat"
row "wsscope conns (TCP + WebSocket)" "$t_conns"
row "wsscope dump --format jsonl" "$t_dump"
if command -v tshark >/dev/null; then
  t_tshark=$(best tshark -r "$file" -q -z conv,tcp)
  row "tshark -q -z conv,tcp" "$t_tshark"
  awk -v a="$t_tshark" -v b="$t_conns" 'BEGIN{printf "wsscope conns is %.1fx faster than tshark conv,tcp\n", a/b}'
fi
