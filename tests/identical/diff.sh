#!/usr/bin/env bash
# Shows how one manifest row's output differs between the baseline binary and
# the current one, for debugging a tests/identical.rs mismatch:
#
#   tests/identical/diff.sh CAPTURE VARIANT     e.g. fixtures/chromium.pcap export-frames
#   tests/identical/diff.sh CAPTURE             list the variants recorded for CAPTURE
#
# Runs the row exactly as record.sh and the test do, with
#   baseline: $WSSCOPE_BASELINE_BIN, default /tmp/wsscope-baseline-target/release/wsscope
#             (tests/identical/record.sh builds it from the pinned commit)
#   current:  $WSSCOPE_BIN, default target/release/wsscope (cargo build --release)
# and prints the exit codes and a unified diff of stdout, stderr and any
# file(s) written to {out} (binary files as `od` dumps). Exits 0 if all are
# identical, 1 if not.
set -euo pipefail

# shellcheck source=record.sh
source "$(dirname "${BASH_SOURCE[0]}")/record.sh"
MANIFEST=$ROOT/tests/identical/manifest.tsv

cap=${1:?usage: diff.sh CAPTURE [VARIANT]}
cap=${cap#./}
variant=${2:-}
if [[ -z $variant ]]; then
    awk -F'\t' -v c="$cap" '$1 == c { print $2 "\t" $8 }' "$MANIFEST"
    exit 0
fi
args=$(awk -F'\t' -v c="$cap" -v v="$variant" '$1 == c && $2 == v { print $8; exit }' "$MANIFEST")
[[ -n $args ]] || { echo "diff.sh: no row $cap / $variant in $MANIFEST (diff.sh $cap lists them)" >&2; exit 2; }

base=${WSSCOPE_BASELINE_BIN:-$BASE_BIN}
cur=${WSSCOPE_BIN:-$ROOT/target/release/wsscope}
for b in "$base" "$cur"; do
    [[ -x $b ]] || { echo "diff.sh: $b not found (record.sh builds the baseline; cargo build --release the current)" >&2; exit 2; }
done
base=$(realpath "$base")
cur=$(realpath "$cur")

DIFF_TMP=$(mktemp -d "${TMPDIR:-/tmp}/wsscope-identical-diff.XXXXXX")
trap 'rm -rf "$DIFF_TMP"' EXIT
mkdir "$DIFF_TMP/baseline" "$DIFF_TMP/current"
run_row "$base" "$cap" "$args" "$DIFF_TMP/baseline"
run_row "$cur" "$cap" "$args" "$DIFF_TMP/current"

is_text() { [[ ! -s $1 ]] || LC_ALL=C grep -Iq . "$1"; }

# show LABEL A B: unified diff of two files (od dumps if either is binary).
show() {
    local label=$1 a=$2 b=$3
    if cmp -s "$a" "$b"; then
        echo "== $label: identical ($(stat -c %s "$a") bytes)"
        return 0
    fi
    echo "== $label: DIFFERS (baseline $(stat -c %s "$a") bytes, current $(stat -c %s "$b") bytes)"
    if is_text "$a" && is_text "$b"; then
        diff -u --label "baseline $label" --label "current $label" "$a" "$b" || true
    else
        diff -u --label "baseline $label (od)" --label "current $label (od)" \
            <(od -A x -t x1z -v "$a") <(od -A x -t x1z -v "$b") || true
    fi
    return 1
}

status=0
eb=$(cat "$DIFF_TMP/baseline/exit")
ec=$(cat "$DIFF_TMP/current/exit")
echo "row: $cap $variant: wsscope $args"
if [[ $eb == "$ec" ]]; then
    echo "== exit code: identical ($eb)"
else
    echo "== exit code: DIFFERS (baseline $eb, current $ec)"
    status=1
fi
show stdout "$DIFF_TMP/baseline/stdout" "$DIFF_TMP/current/stdout" || status=1
show stderr "$DIFF_TMP/baseline/stderr" "$DIFF_TMP/current/stderr" || status=1

ob=$DIFF_TMP/baseline/out
oc=$DIFF_TMP/current/out
if [[ -e $ob || -e $oc ]]; then
    if [[ -f $ob && -f $oc ]]; then
        show "{out}" "$ob" "$oc" || status=1
    elif [[ -d $ob && -d $oc ]]; then
        dir_status=0
        names=$( (cd "$ob" && ls -1A; cd "$oc" && ls -1A) | LC_ALL=C sort -u)
        while IFS= read -r n; do
            [[ -n $n ]] || continue
            if [[ ! -e $ob/$n ]]; then
                echo "== {out}/$n: only in current"
                dir_status=1
            elif [[ ! -e $oc/$n ]]; then
                echo "== {out}/$n: only in baseline"
                dir_status=1
            elif ! cmp -s "$ob/$n" "$oc/$n"; then
                show "{out}/$n" "$ob/$n" "$oc/$n" || dir_status=1
            fi
        done <<<"$names"
        [[ $dir_status == 0 ]] || status=1
        [[ $dir_status != 0 ]] || echo "== {out}/: identical ($(ls -1A "$ob" | wc -l) files)"
    else
        echo "== {out}: DIFFERS: baseline $(stat -c %F "$ob" 2>/dev/null || echo absent), current $(stat -c %F "$oc" 2>/dev/null || echo absent)"
        status=1
    fi
fi
exit $status
