# Sourced by the selftest-*.sh scripts: fetches Debian's linux-source-6.12
# package once into a cache under target/ (never into the repository) and
# extracts from it the selftests and UAPI headers they build. The tarball is
# read again only when a file below is missing.
#
# Sets: root, target, cache (the cache directory), src (the extracted tree),
# inc (an include directory holding the extracted UAPI headers as
# <linux/...> and <drm/...>).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cache="$target/selftest-sync"
pkg="linux-source-6.12"
src="$cache/src/linux-source-6.12"
inc="$cache/include"

selftest_members=(
    tools/testing/selftests/kselftest.h
    tools/testing/selftests/sync
    tools/testing/selftests/dmabuf-heaps
    tools/testing/selftests/drivers/dma-buf
    include/uapi/linux/sync_file.h
    include/uapi/linux/dma-buf.h
    include/uapi/linux/dma-heap.h
    include/uapi/linux/udmabuf.h
    include/uapi/drm/drm.h
    include/uapi/drm/drm_mode.h
)

mkdir -p "$cache"
missing=0
for m in "${selftest_members[@]}"; do
    [ -e "$src/$m" ] || missing=1
done
if [ "$missing" = 1 ]; then
    if ! ls "$cache"/${pkg}_*.deb >/dev/null 2>&1; then
        # A fresh machine may need its package lists first.
        (cd "$cache" && apt-get download "$pkg" 2>&1 | grep -v 'unsandboxed') \
            || { apt-get update -q >/dev/null && (cd "$cache" && apt-get download "$pkg" 2>&1 | grep -v 'unsandboxed' || true); }
    fi
    deb="$(ls "$cache"/${pkg}_*.deb | head -n1)"
    mkdir -p "$cache/src"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -O ./usr/src/linux-source-6.12.tar.xz \
        | tar -xJ -C "$cache/src" "${selftest_members[@]/#/linux-source-6.12/}"
fi

mkdir -p "$inc/linux" "$inc/drm" "$cache/build"
for h in sync_file dma-buf dma-heap udmabuf; do
    cp "$src/include/uapi/linux/$h.h" "$inc/linux/"
done
cp "$src/include/uapi/drm/drm.h" "$src/include/uapi/drm/drm_mode.h" "$inc/drm/"
