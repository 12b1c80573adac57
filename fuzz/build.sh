#!/bin/sh
# Builds the libFuzzer harnesses into $1 (default: fuzz/build) with ASan and UBSan.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
RT="$HERE/../src/microtvm_kit/runtime"
OUT=${1:-"$HERE/build"}
CC=${CC:-clang}
mkdir -p "$OUT"
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$RT/include -I$HERE"
SRC_RPC="$RT/src/microtvm_rpc_common/*.c"
SRC_ALL="$RT/src/common/*.c $RT/src/memory/*.c $RT/src/microtvm_rpc_common/*.c $RT/src/microtvm_rpc_server/*.c $RT/src/aot_executor/*.c $RT/src/aot_executor_module/*.c $RT/src/platform/posix/*.c"
# shellcheck disable=SC2086
$CC $FLAGS "$HERE/fuzz_unframer.c" $SRC_RPC -o "$OUT/fuzz_unframer" &
# shellcheck disable=SC2086
$CC $FLAGS "$HERE/fuzz_session.c" $SRC_RPC -o "$OUT/fuzz_session" &
# shellcheck disable=SC2086
$CC $FLAGS "$HERE/fuzz_rpc.c" $SRC_ALL -lm -o "$OUT/fuzz_rpc" &
# shellcheck disable=SC2086
# malloc instead of the static pool, so AddressSanitizer sees overflows past each allocation.
$CC $FLAGS -DTVM_PLATFORM_POSIX_USE_MALLOC "$HERE/fuzz_graph_json.c" $SRC_ALL $RT/src/graph_executor/*.c -lm -o "$OUT/fuzz_graph_json" &
wait
for h in unframer session rpc graph_json; do test -x "$OUT/fuzz_$h"; done
