#!/usr/bin/env bash
# Builds the kernel's own sync selftest (tools/testing/selftests/sync of
# Debian's linux-source-6.12 package, fetched by selftest-source.sh) and
# runs it under `dmasync exec`, dynamically and statically linked.
#
#   bash crates/dmasync-exec/tests/selftest-sync.sh [path/to/dmasync]
#
# Exits non-zero unless every build passes all of its tests.
set -euo pipefail
source "$(dirname "$0")/selftest-source.sh"
dmasync="${1:-$target/debug/dmasync}"
st="$src/tools/testing/selftests/sync"

objs=()
for c in sync_test sync sync_alloc sync_fence sync_merge sync_wait \
         sync_stress_parallelism sync_stress_consumer sync_stress_merge; do
    gcc -c -O2 -g -std=gnu89 -pthread -w -isystem "$cache/include" \
        "$st/$c.c" -o "$cache/build/$c.o"
    objs+=("$cache/build/$c.o")
done
gcc -o "$cache/build/sync_test" "${objs[@]}" -pthread
gcc -static -o "$cache/build/sync_test-static" "${objs[@]}" -pthread

fail=0
for bin in sync_test sync_test-static; do
    echo "== $bin under dmasync exec"
    out="$cache/build/$bin.log"
    set +e
    "$dmasync" exec -- "$cache/build/$bin" >"$out" 2>&1
    rc=$?
    set -e
    cat "$out"
    # kselftest prints "# Totals: pass:N fail:N ..." at the end.
    if [ "$rc" -ne 0 ] || ! grep -q '^# Totals: pass:10 fail:0' "$out"; then
        echo "FAILED: $bin (exit $rc)"
        fail=1
    fi
done
exit "$fail"
