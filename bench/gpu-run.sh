#!/usr/bin/env bash
# The whole GPU check in one bounded command, for a machine that has a GPU
# and its vendor's OpenCL driver but none of clcnn's packages.
#
#   bash bench/gpu-run.sh bundle [BUNDLE]     here: build a relocatable bundle
#                                             (default build-gpu/bundle)
#   bash bench/gpu-run.sh run BUNDLE OUT      there: run everything, write OUT/
#
# The bundle holds the clcnn binary, libclcnn.so, the op test programs and
# every shared library they need beyond glibc (Debian's libOpenCL.so.1, the
# ICD loader, among them); it is built without MPI. `run` finds the driver's
# ICD library (libnvidia-opencl.so*, else AMD's or Intel's), names it in an
# ICD file in a folder of its own and points OCL_ICD_VENDORS there, then
# runs, each step bounded by a timeout and logged under OUT/:
#   clcnn devices; the op tests on the GPU (AUTO: the GPU kernel family);
#   clcnn bench --peak; a short clcnn tune; clcnn bench --suite all --json
#   (and --plot); clcnn bench --model lenet5 and convnet --json.
# A step that fails or times out is recorded in OUT/summary.txt and the rest
# still run; the whole run stays within about 8 minutes (GPU_RUN_SECONDS,
# default 480, bounds the steps' total).
set -uo pipefail

bundle() {
    local out=${1:-build-gpu/bundle}
    cd "$(dirname "${BASH_SOURCE[0]}")/.."
    local build=build-gpu/build
    if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" -Dbuildtype=release -Dmpi=disabled -Dpython= >/dev/null || exit 1
    fi
    ninja -C "$build" clcnn libclcnn.so.0.1.0 tests/test_conv2d tests/test_conv2d_api tests/test_dense \
        tests/test_pool tests/test_act tests/test_softmax tests/test_loss tests/test_optim \
        tests/test_kernels >/dev/null || exit 1
    rm -rf "$out"
    mkdir -p "$out/bin" "$out/lib" "$out/tests"
    cp "$build/clcnn" "$out/bin/"
    find "$build" -maxdepth 1 -name 'libclcnn.so*' ! -type d -exec cp -P {} "$out/lib/" \;
    for t in conv2d conv2d_api dense pool act softmax loss optim kernels; do
        cp "$build/tests/test_$t" "$out/tests/"
    done
    cp "${BASH_SOURCE[0]}" "$out/gpu-run.sh"
    # every library the programs load, except glibc's own
    ldd "$out/bin/clcnn" "$out"/tests/* | awk '/=> \// {print $3}' | sort -u |
        grep -vE '/(libc|libm|libdl|librt|libpthread|ld-linux[^/]*)\.so' |
        while read -r lib; do cp -L "$lib" "$out/lib/"; done
    du -sh "$out"
}

# The driver's OpenCL ICD library: NVIDIA's first, then AMD's and Intel's.
find_icd() {
    local name dir
    for name in 'libnvidia-opencl.so*' 'libamdocl64.so*' 'libigdrcl.so*'; do
        for dir in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 \
            /usr/local/nvidia/lib /opt/rocm/lib /usr/lib/wsl/lib; do
            [ -d "$dir" ] || continue
            find "$dir" -maxdepth 2 -name "$name" -print -quit 2>/dev/null | grep . && return 0
        done
    done
    # anywhere else the loader would look
    ldconfig -p 2>/dev/null | awk '/libnvidia-opencl|libamdocl64|libigdrcl/ {print $NF; exit}' | grep .
}

run() {
    local bundle=$1 out=$2
    bundle=$(cd "$bundle" && pwd) || exit 1
    mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 1
    local summary=$out/summary.txt
    : >"$summary"
    export LD_LIBRARY_PATH=$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export CLCNN_CACHE_DIR=$out/cache
    local icd
    icd=$(find_icd | head -n 1)
    if [ -z "$icd" ]; then
        echo "no vendor OpenCL ICD library (libnvidia-opencl.so*, libamdocl64.so*, libigdrcl.so*) found" |
            tee -a "$summary"
    else
        mkdir -p "$out/icd"
        echo "$icd" >"$out/icd/gpu.icd"
        export OCL_ICD_VENDORS=$out/icd
        echo "ICD: $icd" | tee -a "$summary"
    fi
    command -v nvidia-smi >/dev/null && nvidia-smi >"$out/nvidia-smi.txt" 2>&1

    # step NAME SECONDS COMMAND...: runs it with a timeout (at most what is
    # left of the whole run's 480 s), output to OUT/NAME.log
    local deadline=$((SECONDS + ${GPU_RUN_SECONDS:-480}))
    step() {
        local name=$1 limit=$2
        shift 2
        local left=$((deadline - SECONDS))
        if [ $left -lt 10 ]; then
            printf '%-22s skipped: the run is out of time\n' "$name" | tee -a "$summary"
            return
        fi
        [ "$limit" -gt $left ] && limit=$left
        local t0=$SECONDS rc
        timeout -k 5 "$limit" "$@" >"$out/$name.log" 2>&1
        rc=$?
        local what=ok
        [ $rc -eq 124 ] && what="timed out after ${limit}s"
        [ $rc -ne 0 ] && [ $rc -ne 124 ] && what="failed (exit $rc)"
        printf '%-22s %-24s %4ds\n' "$name" "$what" $((SECONDS - t0)) | tee -a "$summary"
    }
    local clcnn=$bundle/bin/clcnn
    step devices 30 "$clcnn" devices
    step devices-json 30 "$clcnn" devices --json
    for t in kernels conv2d conv2d_api dense pool act softmax loss optim; do
        step "test-$t" 60 env CLCNN_REQUIRE_DEVICE=1 "$bundle/tests/test_$t"
    done
    step peak 30 "$clcnn" bench --peak --json
    step tune 75 "$clcnn" tune --suite vgg --pass fwd --repeat 3 --max-seconds 60 --json \
        --out "$out/tuning.txt"
    step bench-suite 120 "$clcnn" bench --suite all --json --plot "$out/bench.png"
    step bench-lenet5 30 "$clcnn" bench --model lenet5 --json
    step bench-convnet 30 "$clcnn" bench --model convnet --json
    echo "logs in $out" | tee -a "$summary"
}

case ${1:-} in
bundle) bundle "${2:-}" ;;
run)
    [ $# -eq 3 ] || { echo "usage: $0 run BUNDLE OUT" >&2; exit 2; }
    run "$2" "$3"
    ;;
*)
    echo "usage: $0 bundle [BUNDLE] | $0 run BUNDLE OUT" >&2
    exit 2
    ;;
esac
