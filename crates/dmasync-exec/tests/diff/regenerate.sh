#!/usr/bin/env bash
# Regenerates the golden files of the differential test (tests/diff.rs):
# builds every probe of this directory statically with gcc, and the Rust
# probes with +crt-static, runs them all in one boot of the real Linux 6.12
# kernel (the kernel oracle, ../shared/kernel-oracle), and writes each
# probe's output to golden/NAME.txt. The Rust probes: `drm-rs`
# (crates/dmasync-drm-probe, a client of the `drm` crate) has its own
# golden file; crates/dmasync-probe, always run, must print golden/sync.txt
# (the script fails otherwise).
#
#   bash crates/dmasync-exec/tests/diff/regenerate.sh [probe ...]
#
# Env: KO_DIR (the oracle's scripts, default /work/shared/kernel-oracle),
#      KO_SHARED (a warm oracle cache to reuse, default /var/tmp/kernel-oracle).
# The oracle's work files go to target/diff-oracle (never into the repository).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
ko_dir="${KO_DIR:-/work/shared/kernel-oracle}"
ko_shared="${KO_SHARED:-/var/tmp/kernel-oracle}"
work="$target/diff-oracle"
bin="$work/probes"
mkdir -p "$bin" "$here/golden"

if [ $# -gt 0 ]; then
    probes=("$@")
else
    probes=()
    for c in "$here"/*.c; do probes+=("$(basename "$c" .c)"); done
    probes+=(drm-rs)
fi

# 1. The probes, static. A Rust probe's binary is named as its golden file.
rust_triple=x86_64-unknown-linux-gnu
rust_build() { # rust_build CRATE NAME
    (cd "$root" && RUSTFLAGS="-C target-feature=+crt-static" \
        cargo build -q --release -p "$1" --target "$rust_triple")
    cp "$target/$rust_triple/release/$1" "$bin/$2"
    extra+=("$bin/$2")
}
extra=()
for p in "${probes[@]}"; do
    case "$p" in
        drm-rs) rust_build dmasync-drm-probe drm-rs ;;
        *)
            # A probe of libdrm's API links libdrm.a (libdrm-dev).
            flags=()
            [ "$p" = libdrm ] && flags=(-I/usr/include/libdrm)
            libs=()
            [ "$p" = libdrm ] && libs=(-ldrm)
            gcc -O2 -Wall -Werror -static "${flags[@]}" -o "$bin/$p" "$here/$p.c" "${libs[@]}"
            extra+=("$bin/$p")
            ;;
    esac
done
rust_build dmasync-probe dmasync-probe

# 2. The oracle's work directory: reuse the shared cache's kernel, sources
#    and sw_sync module when it is warm; otherwise set everything up here.
export KO_WORK="$work/ko"
mkdir -p "$KO_WORK"
if ls "$ko_shared"/root/boot/vmlinuz-* >/dev/null 2>&1 && [ -f "$ko_shared/build/sw_sync/sw_sync_oot.ko" ]; then
    for d in debs root src; do
        [ -e "$KO_WORK/$d" ] || ln -s "$ko_shared/$d" "$KO_WORK/$d"
    done
    [ -d "$KO_WORK/build/sw_sync" ] || { mkdir -p "$KO_WORK/build"; cp -a "$ko_shared/build/sw_sync" "$KO_WORK/build/"; }
else
    bash "$ko_dir/setup.sh"
    bash "$ko_dir/build-sw_sync.sh" >/dev/null
fi
KO_EXTRA="${extra[*]}" bash "$ko_dir/build.sh" >/dev/null

# 3. One boot runs every probe (one step each).
steps=""
for p in "${probes[@]}" dmasync-probe; do steps="${steps:+$steps,}x-$p"; done
log="$work/serial.log"
bash "$ko_dir/run.sh" "$steps" >"$log" 2>"$work/run.stderr" || {
    cat "$work/run.stderr" >&2
    echo "regenerate: the oracle failed (log: $log)" >&2
    exit 1
}

# 4. Cut the log into one output per probe. Kernel messages that land on the
#    console ("[    1.234] ...") are not the probe's.
extract() { # extract NAME -> stdout; fails unless the step ended with rc=0
    tr -d '\r' <"$log" | awk -v name="x-$1" '
        $1 == "KO-STEP-BEGIN" && $2 == name { on = 1; next }
        $1 == "KO-STEP-END" && $2 == name { on = 0; rc = $3; next }
        on && !/^\[ *[0-9]+\.[0-9]+\]/ { print }
        END { if (rc != "rc=0") { print "step " name " ended with " rc > "/dev/stderr"; exit 1 } }'
}
fail=0
for p in "${probes[@]}"; do
    if extract "$p" >"$work/$p.txt"; then
        cp "$work/$p.txt" "$here/golden/$p.txt"
        echo "golden/$p.txt: $(wc -l <"$here/golden/$p.txt") lines"
    else
        echo "regenerate: $p failed (log: $log)" >&2
        fail=1
    fi
done
extract dmasync-probe >"$work/dmasync-probe.txt" || fail=1
if ! diff -u "$here/golden/sync.txt" "$work/dmasync-probe.txt"; then
    echo "regenerate: the Rust probe differs from the C probe on the kernel" >&2
    fail=1
else
    echo "dmasync-probe: same as golden/sync.txt"
fi
exit "$fail"
