#!/usr/bin/env bash
# Builds the kernel's dmabuf-heaps and udmabuf selftests
# (tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c and
# tools/testing/selftests/drivers/dma-buf/udmabuf.c of Debian's
# linux-source-6.12, fetched by selftest-source.sh), runs them under
# `dmasync exec` and checks that every subtest that passes on the real
# kernel passes here too, but for the known differences listed below.
#
#   bash crates/dmasync-exec/tests/selftest-dmabuf.sh [path/to/dmasync]
set -euo pipefail
source "$(dirname "$0")/selftest-source.sh"
dmasync="${1:-$target/debug/dmasync}"
sts="$src/tools/testing/selftests"

# The real kernel's results: Debian's linux-image 6.12.117 under qemu, with
# the kernel-oracle scripts (`run.sh selftest-heaps` and, with KO_MEM=3072,
# `run.sh selftest-udmabuf`), built from this same package.
#   dmabuf-heap: 1..11, ok 1-11 (heap "system"; "Import buffer 0" imports
#                into vgem), Totals: pass:11 fail:0
#   udmabuf:     1..6,  ok 1-6, Totals: pass:6 fail:0
kernel_heap_pass="1 2 3 4 5 6 7 8 9 10 11"
kernel_udmabuf_pass="1 2 3 4 5 6"
# Test 6 is test 5 with 2 MB hugetlb pages: it needs 1024 free huge pages
# (2 GiB), else its memfd mmap fails first. The oracle's guest had them; a
# host without them cannot pass it, kernel or not.
known_udmabuf=""
free_huge=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
if [ "${free_huge:-0}" -lt 1024 ]; then
    known_udmabuf="6"
fi

gcc -static -O3 -Wall -D__user= -isystem "$inc" \
    "$sts/dmabuf-heaps/dmabuf-heap.c" -o "$cache/build/dmabuf-heap"
gcc -O2 -Wall -D__user= -isystem "$inc" \
    "$sts/drivers/dma-buf/udmabuf.c" -o "$cache/build/udmabuf"

fail=0
# check NAME "kernel passes" "known differences"
check() {
    local bin="$1" want="$2" known="$3" out="$cache/build/$1.log" rc n
    echo "== $bin under dmasync exec"
    set +e
    "$dmasync" exec -- "$cache/build/$bin" >"$out" 2>&1
    rc=$?
    set -e
    cat "$out"
    echo "(exit $rc)"
    for n in $want; do
        if [[ " $known " == *" $n "* ]]; then
            continue
        fi
        if ! grep -q "^ok $n " "$out"; then
            echo "FAILED: $bin subtest $n passes on the kernel, not here"
            fail=1
        fi
    done
}
check dmabuf-heap "$kernel_heap_pass" ""
check udmabuf "$kernel_udmabuf_pass" "$known_udmabuf"
exit "$fail"
