#!/usr/bin/env bash
# Live capture throughput on loopback: runs `wsscope dump -i lo` (JSON Lines
# to /dev/null) while benches/live_blast.py sends small WebSocket frames at
# the given rates; prints packets captured, dropped, and packets/s.
#   sudo bash benches/live_rate.sh [N_FRAMES] [RATE ...]   (RATE 0 = flat out)
set -euo pipefail
cd "$(dirname "$0")/.."
# One segment per send: switch off Linux TCP autocorking for the run.
old_cork=$(sysctl -n net.ipv4.tcp_autocorking)
sysctl -qw net.ipv4.tcp_autocorking=0
trap 'sysctl -qw net.ipv4.tcp_autocorking=$old_cork' EXIT
cargo build --release --quiet --features live
n=${1:-200000}; shift || true
rates=${*:-20000 50000 0}
for rate in $rates; do
  port=$((20000 + RANDOM % 20000))
  ./target/release/wsscope dump -i lo -f "tcp port $port" --format jsonl > /dev/null 2> /tmp/wsscope-live-rate.err &
  pid=$!
  until grep -q "capturing on" /tmp/wsscope-live-rate.err 2>/dev/null; do sleep 0.05; done
  s=$(date +%s.%N)
  out=$(python3 benches/live_blast.py "$port" "$n" "$rate")
  e=$(date +%s.%N)
  sleep 1; kill -INT $pid; wait $pid || true
  summary=$(grep "packets captured" /tmp/wsscope-live-rate.err)
  pk=$(echo "$summary" | sed -E 's/.*: ([0-9]+) packets.*/\1/')
  dr=$(echo "$summary" | sed -E 's/.*, ([0-9]+ dropped.*)/\1/')
  echo "rate=$rate: $out; wsscope: $pk packets, $dr, $(awk -v p="$pk" -v s="$s" -v e="$e" 'BEGIN{printf "%.0f", p/(e-s)}') packets/s over the blast"
done
