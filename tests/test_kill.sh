#!/usr/bin/env bash
# A checkpoint survives the process being killed at any moment: `clcnn train`
# with many tiny epochs (one checkpoint save each) is killed with SIGKILL at
# random moments, many times, resuming from its checkpoint each time. After
# every kill the checkpoint must load (`clcnn info` exits 0) and hold the
# previous epoch or a later one, never a broken or older file, and at most
# one temporary file per kill may be left beside it; the next save removes
# those older than a minute.
# Usage: test_kill.sh CLCNN_BINARY SOURCE_DIR KILL_ON_CREATE [KILLS]
#   (meson passes the first three; KILL_ON_CREATE is tests/kill_on_create.c built)
# Exit: 0 pass, 1 fail, 77 skip (no OpenCL device and CLCNN_REQUIRE_DEVICE!=1).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

clcnn=$1
src=$2
kill_on_create=$3
kills=${4:-30}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clcnn-kill-XXXXXX")
trap 'kill -9 "${pid:-}" 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

require_device

# 64 training images, also used as the test split, so that an epoch (4
# steps, an evaluation and a save) takes a few tens of milliseconds and most
# of the run is spent between checkpoints or writing one.
mnist_subset "$src" "$tmp/data" 64

ck=$tmp/run/lenet5.clcnn
mkdir "$tmp/run"
train=("$clcnn" train --data "$tmp/data" --epochs 100000 --batch 16 --shift 0)

epoch_of() { # the epoch count `clcnn info` reports, or nothing if it fails
    "$clcnn" info --model "$1" 2>"$tmp/info.err" | sed -n 's/^checkpoint: \([0-9]*\) epoch.*/\1/p'
}

seed=${CLCNN_KILL_SEED:-$$}
RANDOM=$seed
echo "kills: $kills, seed $seed (CLCNN_KILL_SEED reproduces the moments, not the timing)"
last=-1
stale_total=0
during_save=0
for ((i = 1; i <= kills; i++)); do
    if [ -f "$ck" ]; then
        "${train[@]}" --resume "$ck" >"$tmp/out" 2>&1 &
    else
        "${train[@]}" --model lenet5 --seed 1 --out "$ck" >"$tmp/out" 2>&1 &
    fi
    pid=$!
    if ((i % 2)); then
        # a moment in 0.2 .. 1.9 s: past the start-up, then anywhere in the epochs
        sleep "0.$((2 + RANDOM % 8))$((RANDOM % 10))"
        if [ $((RANDOM % 4)) = 0 ]; then
            sleep 0.$((RANDOM % 10))
        fi
    else
        # in the middle of a save: the moment its temporary file is created,
        # then 0 .. 3 ms later, during the write, the fsync or the rename
        "$kill_on_create" "$tmp/run" lenet5.clcnn.tmp- "$pid" $((RANDOM % 3000)) 20
        [ $? -eq 0 ] && during_save=$((during_save + 1))
    fi
    kill -9 "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null # without bash's "Killed" notice
    status=$?
    pid=
    if [ "$status" -ne 137 ]; then
        fail "kill $i: train was not killed (exit $status):"
        cat "$tmp/out" >&2
        continue
    fi
    if [ ! -f "$ck" ]; then
        [ "$last" -lt 0 ] || fail "kill $i: the checkpoint disappeared"
        continue
    fi
    epoch=$(epoch_of "$ck")
    if [ -z "$epoch" ]; then
        fail "kill $i: the checkpoint does not load: $(cat "$tmp/info.err")"
        cp "$ck" "$tmp/broken-$i.clcnn"
        continue
    fi
    [ "$epoch" -ge "$last" ] || fail "kill $i: the checkpoint went back from epoch $last to $epoch"
    stale=$(find "$tmp/run" -name 'lenet5.clcnn.tmp-*' | wc -l)
    others=$(find "$tmp/run" -type f ! -name 'lenet5.clcnn' ! -name 'lenet5.clcnn.tmp-*' | wc -l)
    [ "$stale" -le "$i" ] || fail "kill $i: $stale temporary files for $i kills"
    [ "$others" -eq 0 ] || fail "kill $i: unexpected files: $(ls "$tmp/run")"
    echo "kill $i: epoch $epoch, $stale temporary file(s) left by kills during a save"
    last=$epoch
    stale_total=$stale
done

[ "$last" -gt 0 ] || fail "no epoch was ever saved: the kills came too early"

# The next save removes temporaries of its own name older than a minute, and
# leaves a young one (it may be another process's save in progress).
touch -d '2 minutes ago' "$tmp/run/lenet5.clcnn.tmp-AAAAAA"
touch "$tmp/run/lenet5.clcnn.tmp-BBBBBB"
touch -d '2 minutes ago' "$tmp/run/other.clcnn.tmp-CCCCCC"
if ! "$clcnn" train --resume "$ck" --data "$tmp/data" --epochs $((last + 1)) >"$tmp/out" 2>&1; then
    fail "resuming after the kills failed:"
    cat "$tmp/out" >&2
fi
[ "$(epoch_of "$ck")" = $((last + 1)) ] || fail "the resumed run did not save epoch $((last + 1))"
[ ! -e "$tmp/run/lenet5.clcnn.tmp-AAAAAA" ] || fail "a stale temporary was not removed"
[ -e "$tmp/run/lenet5.clcnn.tmp-BBBBBB" ] || fail "a young temporary was removed"
[ -e "$tmp/run/other.clcnn.tmp-CCCCCC" ] || fail "another file's temporary was removed"
now=$(date +%s)
for f in "$tmp"/run/lenet5.clcnn.tmp-*; do
    [ $((now - $(stat -c %Y "$f"))) -le 65 ] || fail "a temporary older than a minute is left: $f"
done

echo "kill: $kills kills ($during_save aimed at a save), checkpoint at epoch $last, $stale_total temporaries left before cleanup"
[ "$stale_total" -gt 0 ] || fail "no kill landed inside a save (no temporary was left)"
if [ "$failures" -ne 0 ]; then
    echo "kill: $failures failure(s)" >&2
    exit 1
fi
echo "kill: all checks passed"
