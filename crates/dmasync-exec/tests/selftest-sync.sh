#!/usr/bin/env bash
# Builds the kernel's own sync selftest (tools/testing/selftests/sync of
# Debian's linux-source-6.12 package) and runs it under `dmasync exec`,
# dynamically and statically linked. The package is fetched into a cache
# under target/ (never into the repository).
#
#   bash crates/dmasync-exec/tests/selftest-sync.sh [path/to/dmasync]
#
# Exits non-zero unless every build passes all of its tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cache="$target/selftest-sync"
dmasync="${1:-$target/debug/dmasync}"
pkg="linux-source-6.12"
src="$cache/src/linux-source-6.12"
st="$src/tools/testing/selftests/sync"

mkdir -p "$cache"
if [ ! -f "$st/sync_test.c" ]; then
    if ! ls "$cache"/${pkg}_*.deb >/dev/null 2>&1; then
        # A fresh machine may need its package lists first.
        (cd "$cache" && apt-get download "$pkg" 2>&1 | grep -v 'unsandboxed') \
            || { apt-get update -q >/dev/null && (cd "$cache" && apt-get download "$pkg" 2>&1 | grep -v 'unsandboxed' || true); }
    fi
    deb="$(ls "$cache"/${pkg}_*.deb | head -n1)"
    mkdir -p "$cache/src"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -O ./usr/src/linux-source-6.12.tar.xz \
        | tar -xJ -C "$cache/src" \
            linux-source-6.12/tools/testing/selftests/sync \
            linux-source-6.12/tools/testing/selftests/kselftest.h \
            linux-source-6.12/include/uapi/linux/sync_file.h
fi

mkdir -p "$cache/include/linux" "$cache/build"
cp "$src/include/uapi/linux/sync_file.h" "$cache/include/linux/"
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
