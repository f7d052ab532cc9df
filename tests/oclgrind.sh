#!/usr/bin/env bash
# tests/oclgrind.sh [BUILD_DIR] [TEST...]
#
# Runs the op test suites (default: act softmax pool loss optim dense conv2d
# conv2d_groups batchnorm kernels)
# on oclgrind's simulated OpenCL device, in small-shapes mode
# (CLCNN_TEST_SMALL=1: every algorithm, variant and geometry, without the
# largest shapes), and fails on any oclgrind report or failing check. Two
# passes, because oclgrind 21.10's uninitialised-value check cannot run
# optimised code (it stops at LLVM's `freeze` instruction):
#   1. "optimised": kernels compiled as usual; out-of-bounds accesses
#      (always checked), --data-races, --check-api; and every buffer created
#      without data starts as NaN (tests/oclgrind/shim.c), so a kernel that
#      reads memory nobody wrote puts NaN into results the suites reject.
#   2. "uninitialized": kernels compiled with -cl-opt-disable and oclgrind's
#      --uninitialized check as well (shim.c works around two faults of it).
#      Not for dense, conv2d and conv2d_groups (the conv2d kernels, run group
#      by group) unless OCLGRIND_UNINIT_ALL=1: their kernels
#      split vectors into halves or lanes (.lo/.hi/.even/.odd in horizontal
#      sums and the Winograd transform), whose shadow oclgrind 21.10 takes
#      from the wrong operand when the result has fewer lanes than the
#      source (its ShuffleVector compares the lane index with the result's
#      lane count), reporting initialised data as uninitialised: a one-line
#      kernel `vstore8(vload16(0, in).odd, 0, out)` is reported, and the
#      same sums written lane by lane are not. Pass 1's NaN fill covers
#      their reads of unwritten memory instead.
# oclgrind reports on standard error, which goes to
# BUILD_DIR/oclgrind/<test>-<pass>.log (the suites print nothing there when
# all is well): a non-empty log fails the run. (OCLGRIND_LOG is no use: each
# new context truncates that file.) BUILD_DIR (default build) must be built.
# Installs oclgrind (Debian package) when missing.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build}
shift || true
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(act softmax pool loss optim dense conv2d conv2d_groups batchnorm
    kernels)

icd_lib=/usr/lib/oclgrind/liboclgrind-rt-icd.so
if [ ! -f "$icd_lib" ]; then
    echo "oclgrind: installing oclgrind" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        oclgrind >/dev/null
fi
[ -f "$icd_lib" ] || { echo "oclgrind: $icd_lib not found" >&2; exit 1; }

out=$PWD/$build/oclgrind
mkdir -p "$out/vendors"
rm -f "$out"/*.out "$out"/*.log
# oclgrind as the only OpenCL platform
echo "$icd_lib" >"$out/vendors/oclgrind.icd"
cc -O1 -shared -fPIC tests/oclgrind/shim.c -o "$out/shim.so" -ldl -lOpenCL || exit 1

export OCL_ICD_VENDORS=$out/vendors CLCNN_DEVICE=oclgrind CLCNN_REQUIRE_DEVICE=1
export CLCNN_TEST_SMALL=1 CLCNN_CACHE_DIR="" CLCNN_TUNING_FILE=""
export OCLGRIND_CHECK_API=1 OCLGRIND_DATA_RACES=1
# 128 KiB of local memory (PoCL offers 1 MiB), so that every conv2d variant runs
export OCLGRIND_LOCAL_MEM_SIZE=131072

status=0
summary=()
for t in "${tests[@]}"; do
    exe=$build/tests/test_$t
    [ -x "$exe" ] || { echo "oclgrind: $exe is not built" >&2; status=1; continue; }
    passes=(optimised uninitialized)
    case $t in
    dense | conv2d | conv2d_groups) [ "${OCLGRIND_UNINIT_ALL:-0}" = 1 ] || passes=(optimised) ;;
    esac
    for pass in "${passes[@]}"; do
        log=$out/$t-$pass.log
        rm -f "$log"
        start=$(date +%s)
        if [ $pass = optimised ]; then
            CLCNN_OCLGRIND_SHIM=poison LD_PRELOAD=$out/shim.so \
                timeout 3600 "$exe" >"$out/$t-$pass.out" 2>"$log"
        else
            CLCNN_OCLGRIND_SHIM=uninit OCLGRIND_UNINITIALIZED=1 \
                OCLGRIND_BUILD_OPTIONS=-cl-opt-disable LD_PRELOAD=$out/shim.so \
                timeout 3600 "$exe" >"$out/$t-$pass.out" 2>"$log"
        fi
        rc=$?
        # oclgrind's compiler counts its warnings on standard error ("1 warning
        # generated."; the text stays in the build log): a plane kernel's loop
        # it will not unroll is no fault of the kernel
        sed -i '/^[0-9]* warnings\{0,1\} generated\.$/d' "$log"
        secs=$(($(date +%s) - start))
        checks=$(grep -E '^[0-9]+%: Checks' "$out/$t-$pass.out" | tail -1)
        reports=0
        [ -s "$log" ] && reports=$(grep -cE '^[A-Za-z]' "$log")
        result=ok
        if [ $rc -ne 0 ] || [ -s "$log" ]; then
            result="FAILED (exit $rc, $reports messages: $log)"
            status=1
        fi
        summary+=("$(printf '%-8s %-13s %5ss  %s  %s' "$t" "$pass" "$secs" "${checks:-no summary}" "$result")")
        echo "${summary[-1]}" >&2
    done
done
echo "oclgrind summary:"
printf '%s\n' "${summary[@]}"
exit $status
