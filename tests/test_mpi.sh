#!/usr/bin/env bash
# Data-parallel `clcnn train` under mpirun -np 2 on this machine alone
# (shared memory and loopback): the same weights and accuracy as one process,
# the README's command, resume, a batch that does not divide, a rank killed
# mid-epoch, which must end the job non-zero within a bounded time and leave
# the last checkpoint loadable, and a rank that fails.
# Usage: test_mpi.sh CLCNN_BINARY SOURCE_DIR MODEL_DIFF MPIRUN
# Exit: 0 pass, 1 fail, 77 skip (no OpenCL device and CLCNN_REQUIRE_DEVICE!=1).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

clcnn=$1
src=$2
model_diff=$3
mpirun=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clcnn-mpi-XXXXXX")
trap 'kill -9 "${job:-}" 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

require_device

# no network interface but loopback and shared memory; root in CI containers
export OMPI_MCA_btl=self,vader
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_rmaps_base_oversubscribe=1
# Open MPI 4.1's mpirun itself crashes (in pmix_server_log_fn) while it
# reports an MPI_Abort when malloc perturbs freed memory, as meson's
# MALLOC_PERTURB_ does: mpirun runs without it, the ranks keep it.
ranks_env=()
if [ -n "${MALLOC_PERTURB_:-}" ]; then
    ranks_env=(-x "MALLOC_PERTURB_=$MALLOC_PERTURB_")
    unset MALLOC_PERTURB_
fi
launch=("$mpirun" --oversubscribe --allow-run-as-root "${ranks_env[@]}")
mpi=(timeout -k 10 300 "${launch[@]}" -np 2)
data=$src/data/mnist

json_field() { # the value of "name" in the last line of a file of JSON lines
    /usr/bin/python3 -c 'import json, sys
print(json.loads(open(sys.argv[1]).read().splitlines()[-1]).get(sys.argv[2], "missing"))' "$1" "$2"
}

within() { # |a - b| <= tol
    /usr/bin/python3 -c 'import sys; a, b, t = map(float, sys.argv[1:]); sys.exit(abs(a - b) > t)' "$@"
}

# 1. One epoch of LeNet-5 on the bundled MNIST, one process and two ranks:
# the weights agree up to float summation order. Batch 128: with the
# default 32 the run passes an unstable stretch where one process alone
# diverges as far from a copy of itself whose gradients differ by one
# rounding (the README's known limits).
common=(train --model lenet5 --data "$data" --epochs 1 --batch 128 --seed 1 --json)
"$clcnn" "${common[@]}" --out "$tmp/one.clcnn" >"$tmp/one.json" 2>"$tmp/one.err" ||
    fail "one process: $(cat "$tmp/one.err")"
"${mpi[@]}" "$clcnn" "${common[@]}" --out "$tmp/two.clcnn" >"$tmp/two.json" 2>"$tmp/two.err" ||
    fail "two ranks: $(cat "$tmp/two.err")"
if [ -f "$tmp/one.clcnn" ] && [ -f "$tmp/two.clcnn" ]; then
    "$model_diff" "$tmp/two.clcnn" "$tmp/one.clcnn" 1e-4 >"$tmp/diff.txt" 2>&1 ||
        fail "two ranks' weights differ from one process's: $(cat "$tmp/diff.txt")"
    tail -1 "$tmp/diff.txt"
    # and the model did train: far from a freshly initialised one
    "$clcnn" train --model lenet5 --data "$data" --epochs 1 --train-limit 1 --batch 128 \
        --seed 1 --lr 1e-9 --out "$tmp/init.clcnn" >/dev/null 2>&1
    if "$model_diff" "$tmp/two.clcnn" "$tmp/init.clcnn" 1e-2 >/dev/null 2>&1; then
        fail "the two-rank model hardly moved from its initialisation"
    fi
else
    fail "a model file is missing"
fi
[ "$(json_field "$tmp/two.json" ranks)" = 2 ] || fail "two ranks: the final JSON has no \"ranks\": 2"
[ "$(json_field "$tmp/two.json" batch)" = 128 ] || fail "two ranks: \"batch\" is not the global 128"
[ "$(json_field "$tmp/one.json" ranks)" = missing ] || fail "one process: a \"ranks\" field appeared"
[ "$(ls "$tmp" | grep -c '\.tmp-')" = 0 ] || fail "temporary files beside --out: $(ls "$tmp")"

# 2. The README's command with the default recipe, two epochs: the test
# accuracy within 0.2 points of one process's.
readme=(train --model lenet5 --data "$data" --epochs 2 --seed 1 --json)
"$clcnn" "${readme[@]}" >"$tmp/one2.json" 2>"$tmp/one2.err" || fail "one process, 2 epochs"
"${mpi[@]}" "$clcnn" "${readme[@]}" >"$tmp/two2.json" 2>"$tmp/two2.err" ||
    fail "two ranks, 2 epochs: $(cat "$tmp/two2.err")"
a1=$(json_field "$tmp/one2.json" test_accuracy)
a2=$(json_field "$tmp/two2.json" test_accuracy)
echo "test accuracy after 2 epochs: one process $a1, two ranks $a2"
within "$a1" "$a2" 0.002 || fail "accuracy $a2 on two ranks is not within 0.2 points of $a1"
[ "$(json_field "$tmp/two2.json" ranks)" = 2 ] || fail "README command: no \"ranks\": 2"
n=$(grep -c '"epoch"' "$tmp/two2.json")
[ "$n" = 2 ] || fail "rank 0 alone prints: $n epoch lines for 2 epochs"

# 3. A global batch that does not divide among the ranks: an error naming both.
"${mpi[@]}" "$clcnn" train --model lenet5 --data "$data" --batch 33 >/dev/null 2>"$tmp/odd.err" &&
    fail "--batch 33 on 2 ranks succeeded"
grep -q "33" "$tmp/odd.err" && grep -q "2 ranks" "$tmp/odd.err" ||
    fail "--batch 33 on 2 ranks: the message names not both numbers: $(cat "$tmp/odd.err")"

# 4. --resume under MPI continues exactly: stopped after one epoch and
# resumed, the run ends bit for bit where an uninterrupted one does.
short=(train --model lenet5 --data "$data" --train-limit 2000 --epochs 2 --batch 64 --seed 3)
"${mpi[@]}" "$clcnn" "${short[@]}" --out "$tmp/whole.clcnn" >/dev/null 2>"$tmp/r.err" ||
    fail "uninterrupted: $(cat "$tmp/r.err")"
"${mpi[@]}" "$clcnn" "${short[@]}" --stop-after 1 --out "$tmp/part.clcnn" >/dev/null 2>"$tmp/r.err" ||
    fail "first half: $(cat "$tmp/r.err")"
"${mpi[@]}" "$clcnn" train --resume "$tmp/part.clcnn" --data "$data" --train-limit 2000 \
    --epochs 2 >/dev/null 2>"$tmp/r.err" || fail "resumed: $(cat "$tmp/r.err")"
"$model_diff" "$tmp/part.clcnn" "$tmp/whole.clcnn" 0 >"$tmp/diff.txt" 2>&1 ||
    fail "resumed under MPI differs from uninterrupted: $(cat "$tmp/diff.txt")"

# 5. Rank 1 killed mid-epoch after a checkpoint was saved: mpirun ends the
# job non-zero with a message within a bounded time; the checkpoint loads.
"${launch[@]}" -np 2 "$clcnn" train --model lenet5 \
    --data "$data" --epochs 1000 --batch 32 --seed 1 --out "$tmp/kill.clcnn" \
    >/dev/null 2>"$tmp/kill.err" &
job=$!
for _ in $(seq 600); do
    [ -f "$tmp/kill.clcnn" ] && break
    sleep 0.1
done
sleep 0.2 # into the next epoch
victim=""
for p in $(pgrep -P "$job"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then
        victim=$p
    fi
done
if [ -z "$victim" ] || [ ! -f "$tmp/kill.clcnn" ]; then
    fail "no checkpoint or no rank 1 to kill (children: $(pgrep -P "$job" | tr '\n' ' '))"
    kill -9 "$job" 2>/dev/null
else
    start=$(date +%s)
    kill -9 "$victim"
    for _ in $(seq 600); do
        kill -0 "$job" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$job" 2>/dev/null; then
        fail "the job still runs 60 s after rank 1 was killed"
        kill -9 $(pgrep -P "$job") "$job" 2>/dev/null
    fi
    wait "$job"
    rc=$?
    echo "killed rank 1: the job ended with status $rc after $(($(date +%s) - start)) s"
    [ "$rc" -ne 0 ] || fail "the job exited 0 after rank 1 was killed"
    [ -s "$tmp/kill.err" ] || fail "no message after rank 1 was killed"
    "$clcnn" info --model "$tmp/kill.clcnn" >"$tmp/info.txt" 2>&1 ||
        fail "the last checkpoint does not load: $(cat "$tmp/info.txt")"
    grep -q '^checkpoint: [1-9]' "$tmp/info.txt" || fail "no epoch in the checkpoint: $(cat "$tmp/info.txt")"
fi
job=""

# 6. A rank that fails (here: no device matches its CLCNN_DEVICE) stops the
# whole job at once instead of leaving rank 0 waiting in an allreduce.
start=$(date +%s)
timeout -k 10 120 "${launch[@]}" -np 1 "$clcnn" train --model lenet5 --data "$data" --epochs 1 : \
    -np 1 env CLCNN_DEVICE=no-such-device "$clcnn" train --model lenet5 --data "$data" --epochs 1 \
    >/dev/null 2>"$tmp/fail.err"
rc=$?
echo "failed rank 1: the job ended with status $rc after $(($(date +%s) - start)) s"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] ||
    fail "a failing rank 1: status $rc (0 or a timeout)"
grep -q "rank 1 of 2 failed" "$tmp/fail.err" || fail "a failing rank 1: $(cat "$tmp/fail.err")"

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "mpi: all checks passed"
