#!/usr/bin/env bash
# Before/after cost of a change, for the "no slowdown" acceptance check:
# instruction counts (callgrind, deterministic) on a small generated capture
# and wall-clock medians on a >= 200 MB one, base binary against head binary.
#
#   bash benches/seams_compare.sh BASE_BIN HEAD_BIN
#
# Environment (all optional):
#   DATA_DIR     where captures and callgrind profiles go  (/tmp/wsscope-bench)
#   BIG_MB       size of the wall-clock capture in MiB      (256)
#   BIG_CONNS    interleaved connections in it              (500)
#   SMALL_MB     size of the callgrind capture in MiB       (8)
#   SMALL_CONNS  connections in it                          (16; keeps the
#                bytes per connection of the big one, so sessions open, run
#                ~200 messages and close/restart in both)
#   RUNS         timed runs per binary and command          (7)
#   GENCAP       a built gencap example; otherwise it is built with
#                `cargo build --release --example gencap` (honours
#                CARGO_TARGET_DIR, so point that away from a busy target dir)
#   THRESHOLD    instruction ratio above which the function-level diff is
#                printed                                    (1.03; 0 = always)
#   SKIP_WALL=1  instruction counts only
#   RENAMES      sed script applied to the base profile's function names
#                before the diff, so that renamed/moved functions line up
#                (default: the seams refactor's Session -> Http1Upgrade +
#                WsSession, Ctx -> Router; RENAMES= to turn off)
#
# The generator is deterministic (fixed seed), so the same sizes give the
# same bytes on every machine and every run.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BASE_BIN HEAD_BIN" >&2; exit 2; }
base=$(readlink -f "$1")
head=$(readlink -f "$2")
for b in "$base" "$head"; do [ -x "$b" ] || { echo "not executable: $b" >&2; exit 2; }; done
repo=$(cd "$(dirname "$0")/.." && pwd)
data=${DATA_DIR:-/tmp/wsscope-bench}
big_mb=${BIG_MB:-256}
big_conns=${BIG_CONNS:-500}
small_mb=${SMALL_MB:-8}
small_conns=${SMALL_CONNS:-16}
runs=${RUNS:-7}
threshold=${THRESHOLD:-1.03}
mkdir -p "$data/cg"
big=$data/synth-${big_mb}mb-${big_conns}c.pcap
small=$data/synth-${small_mb}mb-${small_conns}c.pcap

# ---- 1. captures --------------------------------------------------------
gen() { # OUT MB CONNS
  [ -s "$1" ] && return
  if [ -z "${GENCAP:-}" ]; then
    (cd "$repo" && cargo build --release --quiet --example gencap)
    GENCAP=${CARGO_TARGET_DIR:-$repo/target}/release/examples/gencap
  fi
  "$GENCAP" "$1.tmp" "$2" "$3" && mv "$1.tmp" "$1"
}
gen "$small" "$small_mb" "$small_conns"
[ "${SKIP_WALL:-0}" = 1 ] || gen "$big" "$big_mb" "$big_conns"

cmds=("dump --format jsonl" "dump" "conns")
slug() { echo "$1" | tr -c 'a-z0-9\n' '_'; }

echo "base: $base"
echo "head: $head"
echo "small: $small ($(stat -c %s "$small") bytes, $small_mb MiB, $small_conns connections)"
[ "${SKIP_WALL:-0}" = 1 ] || echo "big:   $big ($(stat -c %s "$big") bytes, $big_mb MiB, $big_conns connections)"
echo

# Output must not differ, or the comparison is of different work.
for c in "${cmds[@]}"; do
  # shellcheck disable=SC2086
  hb=$("$base" $c "$small" 2>/dev/null | md5sum)
  # shellcheck disable=SC2086
  hh=$("$head" $c "$small" 2>/dev/null | md5sum)
  [ "$hb" = "$hh" ] || echo "WARNING: '$c' output differs between base and head on $small"
done

# ---- 2. instruction counts ---------------------------------------------
# Function-level Ir from a callgrind profile: "count<TAB>function", object
# suffix cut. callgrind_annotate lists a function once per source file its
# (inlined) code came from: self cost is the sum of those rows; for
# inclusive cost the row of the function's own file already holds the whole
# and the others only parts, so the largest row is taken.
cgfuncs() { # PROFILE yes|no
  callgrind_annotate --inclusive="$2" --threshold=100 --auto=no "$1" 2>/dev/null |
    awk -v incl="$2" '/^ *[0-9,]+ \(/ && !/PROGRAM TOTALS/ {
      n = $1; gsub(",", "", n); n += 0
      l = $0; sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", l); sub(/ \[[^]]*\]$/, "", l)
      f = substr(l, index(l, ":") + 1)
      if (incl == "yes") { if (n > s[f]) s[f] = n } else s[f] += n
    } END { for (f in s) printf "%d\t%s\n", s[f], f }' | sort -t$'\t' -k2
}
default_renames='
s/<wsscope::analyzer::Ctx as /<wsscope::analyzer::Router as /
s/\twsscope::ws::session::Session::on_data$/\t<wsscope::http::upgrade::Http1Upgrade as wsscope::stream::ByteLayer>::input/
s/\twsscope::ws::session::Session::ws_feed$/\twsscope::ws::session::WsSession::feed/
s/\twsscope::ws::session::Session::\(http_requests\|http_responses\|emit_handshake\|switch_to_ws\)/\twsscope::http::upgrade::Http1Upgrade::\1/
s/\twsscope::ws::session::Session::/\twsscope::ws::session::WsSession::/
s/<wsscope::event::Timestamp as /<wsscope::model::Timestamp as /'
renames=${RENAMES-$default_renames}
cgdiff() { # BASE_PROFILE HEAD_PROFILE yes|no N TOTAL
  # (functions whose cost is >= 95% of TOTAL in both, main and the runtime
  # around it, are left out: they only repeat the overall difference)
  join -t$'\t' -1 2 -2 2 -a1 -a2 -e0 -o 0,1.1,2.1 \
      <(cgfuncs "$1" "$3" | sed -e "${renames:-p;d}" | awk -F'\t' '{ s[$2] += $1 } END { for (f in s) printf "%d\t%s\n", s[f], f }' | sort -t$'\t' -k2) \
      <(cgfuncs "$2" "$3") |
    awk -F'\t' -v t="${5:-0}" '{ d = $3 - $2; a = d < 0 ? -d : d
                  if (t > 0 && $2 >= 0.95 * t && $3 >= 0.95 * t) next
                  printf "%d\t%+12d %12d %12d  %s\n", a, d, $2, $3, $1 }' |
    sort -t$'\t' -k1,1 -n -r | cut -f2- | head -"$4" || true # head closes the pipe early
}
collected() { # BIN CMD... -> Ir total; profile kept in $data/cg
  local out=$1; shift
  valgrind --tool=callgrind --callgrind-out-file="$out" "$@" 2>&1 >/dev/null |
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p'
}
declare -A tot
printf '%-22s %15s %15s %9s\n' "callgrind Ir (small)" "base" "head" "head/base"
over=()
for c in "${cmds[@]}"; do
  s=$(slug "$c")
  # shellcheck disable=SC2086
  ib=$(collected "$data/cg/base.$s" "$base" $c "$small")
  # shellcheck disable=SC2086
  ih=$(collected "$data/cg/head.$s" "$head" $c "$small")
  r=$(awk -v a="$ib" -v b="$ih" 'BEGIN{printf "%.4f", b/a}')
  printf '%-22s %15s %15s %9s\n' "$c" "$ib" "$ih" "$r"
  if awk -v r="$r" -v t="$threshold" 'BEGIN{exit !(r > t)}'; then over+=("$c"); fi
  tot[$s]=$ib
done
echo "(profiles: $data/cg/{base,head}.<command>; diff them with callgrind_annotate)"

for c in "${over[@]}"; do
  s=$(slug "$c")
  echo
  echo "== '$c' is over $threshold: largest function-level differences (Ir: head-base, base, head) =="
  [ -z "$renames" ] || echo "   (base names mapped to head names by RENAMES)"
  echo "-- self cost --"
  cgdiff "$data/cg/base.$s" "$data/cg/head.$s" no 25
  echo "-- inclusive cost --"
  cgdiff "$data/cg/base.$s" "$data/cg/head.$s" yes 25 "${tot[$s]}"
done

if [ "${SKIP_WALL:-0}" = 1 ]; then exit 0; fi

# ---- 3. wall clock on the big capture -----------------------------------
secs() { # CMD... -> "wall cpu" seconds, cpu = user + sys (stdout discarded)
  local TIMEFORMAT='%R %U %S' t
  t=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
  awk -v t="$t" 'BEGIN{split(t, a, " "); printf "%.3f %.3f\n", a[1], a[2] + a[3]}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
load() { cut -d' ' -f1 /proc/loadavg; }
busy() { awk -v l="$(load)" -v n="$(nproc)" 'BEGIN{exit !(l > 0.5 * n)}'; }
load0=$(load)
if busy; then
  echo
  echo "WARNING: load average $(load) on $(nproc) cores before timing; wall clock will be noisy"
fi
cat "$big" >/dev/null
tc=()
for _ in $(seq "$runs"); do tc+=("$(secs cat "$big" | cut -d' ' -f1)"); done
echo
echo "wall and cpu (user+sys) seconds on the big capture: medians of $runs alternating runs"
printf '%-22s %7s %7s %7s  %7s %7s %7s   %s\n' "" "wall" "wall" "head/" "cpu" "cpu" "head/" "wall runs"
printf '%-22s %7s %7s %7s  %7s %7s %7s   %s\n' "command" "base" "head" "base" "base" "head" "base" "base | head"
printf '%-22s %7s\n' "cat FILE" "$(median "${tc[@]}")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b/a}'; }
for c in "${cmds[@]}"; do
  # shellcheck disable=SC2086
  { "$base" $c "$big"; "$head" $c "$big"; } >/dev/null 2>&1 # warm
  wb=(); wh=(); cb=(); ch=()
  for _ in $(seq "$runs"); do
    # shellcheck disable=SC2086
    read -r w u < <(secs "$base" $c "$big"); wb+=("$w"); cb+=("$u")
    # shellcheck disable=SC2086
    read -r w u < <(secs "$head" $c "$big"); wh+=("$w"); ch+=("$u")
  done
  mb=$(median "${wb[@]}"); mh=$(median "${wh[@]}")
  ub=$(median "${cb[@]}"); uh=$(median "${ch[@]}")
  printf '%-22s %7s %7s %7s  %7s %7s %7s   %s | %s\n' "$c" "$mb" "$mh" "$(ratio "$mb" "$mh")" \
    "$ub" "$uh" "$(ratio "$ub" "$uh")" "${wb[*]}" "${wh[*]}"
done
echo "(load average before/after timing: $load0 / $(load))"
