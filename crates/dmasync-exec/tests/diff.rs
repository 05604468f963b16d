//! The differential test: probe programs (tests/diff/*.c, built here with
//! gcc, dynamically linked; crates/dmasync-probe, the Rust probe on
//! rustix; crates/dmasync-drm-probe, a client of the `drm` crate) run under the built `dmasync exec`, and their normalised output
//! must equal what the real Linux 6.12 kernel printed for the same programs
//! (tests/diff/golden/*.txt, written by tests/diff/regenerate.sh in the
//! kernel oracle).
//!
//! Known differences between dmasync and the kernel, each one golden line
//! and the line dmasync prints instead (or none: an empty line there), are
//! listed in [`KNOWN`]: they are accepted and printed. An entry that no longer differs fails the test, so
//! that it is deleted once the behaviour is fixed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Accepted differences: (probe, golden line, dmasync's line or "" when
/// dmasync prints no line in its place, why). Each
/// is documented in DESIGN.md ("Where the objects differ from the kernel's")
/// or reported as a mismatch to fix.
const KNOWN: &[(&str, &str, &str, &str)] = &[
    (
        "vgem",
        "card0: write EINVAL",
        "card0: write EBADF",
        "a DRM file is a pipe's read end (so that it polls and epolls as the kernel's)",
    ),
    (
        "sync-files",
        "sync file: read EINVAL",
        "sync file: read EAGAIN",
        "a sync file is a non-blocking pipe: read() of a pending one fails with EAGAIN",
    ),
    (
        "sync-files",
        "sync file: signalled: read EINVAL",
        "sync file: signalled: read ok",
        "read() returns the signal byte",
    ),
    (
        "sync-files",
        "sync file: signalled: poll IN after read IN",
        "sync file: signalled: poll IN after read none",
        "read() consumed the signal byte",
    ),
    (
        "sync-files",
        "timeline: read EINVAL",
        "timeline: read ok",
        "a timeline is a memfd (read returns 0)",
    ),
    (
        "sync-files",
        "timeline: write EINVAL",
        "timeline: write EPERM",
        "a timeline is a sealed memfd",
    ),
    (
        "dmabuf-files",
        "heap: read EINVAL",
        "heap: read ok",
        "a dma-buf is a memfd: read/write are not trapped",
    ),
    (
        "dmabuf-files",
        "heap: write EINVAL",
        "heap: write ok",
        "a dma-buf is a memfd: read/write are not trapped",
    ),
    (
        "dmabuf-files",
        "heap: pread ESPIPE",
        "heap: pread ok",
        "a dma-buf is a memfd: read/write are not trapped",
    ),
    (
        "dmabuf-files",
        "udmabuf: read EINVAL",
        "udmabuf: read ok",
        "a dma-buf is a memfd: read/write are not trapped",
    ),
    (
        "dmabuf-files",
        "udmabuf: write EINVAL",
        "udmabuf: write ok",
        "a dma-buf is a memfd: read/write are not trapped",
    ),
    (
        "dmabuf-files",
        "udmabuf: pread ESPIPE",
        "udmabuf: pread ok",
        "a dma-buf is a memfd: read/write are not trapped",
    ),
    (
        "dmabuf-files",
        "vgem: read EINVAL",
        "vgem: read ok",
        "a dma-buf is a memfd: read/write are not trapped",
    ),
    (
        "dmabuf-files",
        "vgem: write EINVAL",
        "vgem: write ok",
        "a dma-buf is a memfd: read/write are not trapped",
    ),
    (
        "dmabuf-files",
        "vgem: pread ESPIPE",
        "vgem: pread ok",
        "a dma-buf is a memfd: read/write are not trapped",
    ),
    (
        "sysfs",
        "readdir /sys/devices/platform/vgem/power: .(dir) ..(dir) runtime_active_time(reg) runtime_active_kids(reg) runtime_usage(reg) runtime_status(reg) autosuspend_delay_ms(reg) async(reg) runtime_suspended_time(reg) runtime_enabled(reg) control(reg)",
        "readdir /sys/devices/platform/vgem/power: .(dir) ..(dir) runtime_active_time(reg) runtime_active_kids(reg) runtime_usage(reg) runtime_status(reg) async(reg) runtime_suspended_time(reg) runtime_enabled(reg) control(reg)",
        "a power directory does not list autosuspend_delay_ms (its read fails with EIO, which a served attribute cannot)",
    ),
    (
        "sysfs",
        "readdir /sys/devices/platform/vgem/drm/card0/power: .(dir) ..(dir) runtime_active_time(reg) runtime_active_kids(reg) runtime_usage(reg) runtime_status(reg) autosuspend_delay_ms(reg) async(reg) runtime_suspended_time(reg) runtime_enabled(reg) control(reg)",
        "readdir /sys/devices/platform/vgem/drm/card0/power: .(dir) ..(dir) runtime_active_time(reg) runtime_active_kids(reg) runtime_usage(reg) runtime_status(reg) async(reg) runtime_suspended_time(reg) runtime_enabled(reg) control(reg)",
        "a power directory does not list autosuspend_delay_ms (its read fails with EIO, which a served attribute cannot)",
    ),
    (
        "sysfs",
        "readdir /sys/class/drm/renderD128/power: .(dir) ..(dir) runtime_active_time(reg) runtime_active_kids(reg) runtime_usage(reg) runtime_status(reg) autosuspend_delay_ms(reg) async(reg) runtime_suspended_time(reg) runtime_enabled(reg) control(reg)",
        "readdir /sys/class/drm/renderD128/power: .(dir) ..(dir) runtime_active_time(reg) runtime_active_kids(reg) runtime_usage(reg) runtime_status(reg) async(reg) runtime_suspended_time(reg) runtime_enabled(reg) control(reg)",
        "a power directory does not list autosuspend_delay_ms (its read fails with EIO, which a served attribute cannot)",
    ),
    (
        "sysfs",
        "O_PATH|O_NOFOLLOW /sys/dev/char/226:0: fstat link, fstatat empty link, readlinkat empty ../../devices/platform/vgem/drm/card0, read EBADF, ioctl EBADF",
        "O_PATH|O_NOFOLLOW /sys/dev/char/226:0: fstat link, fstatat empty link, readlinkat empty ../../devices/platform/vgem/drm/card0, read ok, ioctl EBADF",
        "an O_PATH fd of a served file or link is a read-only description: read() returns 0",
    ),
    (
        "sysfs",
        "O_PATH /sys/dev/char/226:128: fstat dir, fstatat empty dir, readlinkat empty ENOENT, read EBADF, ioctl EBADF",
        "O_PATH /sys/dev/char/226:128: fstat dir, fstatat empty dir, readlinkat empty ENOENT, read EISDIR, ioctl ENOTTY",
        "an O_PATH fd of a served directory is a removed directory opened for reading: read EISDIR, ioctl ENOTTY",
    ),
    (
        "sysfs",
        "O_PATH|O_NOFOLLOW /sys/class/drm/renderD128: fstat link, fstatat empty link, readlinkat empty ../../devices/platform/vgem/drm/renderD128, read EBADF, ioctl EBADF",
        "O_PATH|O_NOFOLLOW /sys/class/drm/renderD128: fstat link, fstatat empty link, readlinkat empty ../../devices/platform/vgem/drm/renderD128, read ok, ioctl EBADF",
        "an O_PATH fd of a served file or link is a read-only description: read() returns 0",
    ),
    (
        "sysfs",
        "O_PATH|O_NOFOLLOW /sys/class/drm/card0/dev: fstat reg, fstatat empty reg, readlinkat empty ENOENT, read EBADF, ioctl EBADF",
        "O_PATH|O_NOFOLLOW /sys/class/drm/card0/dev: fstat reg, fstatat empty reg, readlinkat empty ENOENT, read ok, ioctl EBADF",
        "an O_PATH fd of a served file or link is a read-only description: read() returns 0",
    ),
    (
        "sysfs",
        "O_PATH /sys/class/drm/card0/uevent: fstat reg, fstatat empty reg, readlinkat empty ENOENT, read EBADF, ioctl EBADF",
        "O_PATH /sys/class/drm/card0/uevent: fstat reg, fstatat empty reg, readlinkat empty ENOENT, read ok, ioctl EBADF",
        "an O_PATH fd of a served file or link is a read-only description: read() returns 0",
    ),
    (
        "sysfs",
        "O_PATH|O_NOFOLLOW /sys/devices/platform/vgem/drm: fstat dir, fstatat empty dir, readlinkat empty ENOENT, read EBADF, ioctl EBADF",
        "O_PATH|O_NOFOLLOW /sys/devices/platform/vgem/drm: fstat dir, fstatat empty dir, readlinkat empty ENOENT, read EISDIR, ioctl ENOTTY",
        "an O_PATH fd of a served directory is a removed directory opened for reading: read EISDIR, ioctl ENOTTY",
    ),
];

/// The C probes, one per golden file.
const PROBES: &[&str] = &[
    "sync",
    "sync-files",
    "sync-bad",
    "dmabuf",
    "dmabuf-files",
    "dmabuf-bad",
    "vgem",
    "vgem-expiry",
    "stat",
    "procfd",
    "sysfs",
    "debugfs",
    "udev",
    "libdrm",
    "statfs",
    "maps",
];

/// How long one probe may run under `dmasync exec`.
const TIMEOUT: Duration = Duration::from_secs(120);

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diff")
}

/// The profile directory this test was built into (target/debug), where
/// `cargo build` puts `dmasync` and `dmasync-probe`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    // target/debug/deps/diff-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_path_buf()
}

/// Builds `dmasync`, `dmasync-probe` and `dmasync-drm-probe` once (as tests/exec.rs does for
/// `dmasync`); returns the profile directory.
fn binaries() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let dir = profile_dir();
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-q",
            "-p",
            "dmasync-cli",
            "-p",
            "dmasync-probe",
            "-p",
            "dmasync-drm-probe",
        ])
        .current_dir(&root);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("cargo runs");
        assert!(st.success(), "building dmasync and the Rust probes failed");
        dir
    })
}

fn build_probe(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("diff");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    // The binary has the probe's name (and so its command name), as in the
    // oracle; the probes print it as <comm> anyway.
    let out = dir.join(name);
    // A probe of libdrm's own API builds against libdrm (libdrm-dev).
    let (cflags, libs): (&[&str], &[&str]) = match name {
        "libdrm" => (&["-I/usr/include/libdrm"], &["-ldrm"]),
        _ => (&[], &[]),
    };
    let st = Command::new("gcc")
        .args(["-O2", "-Wall", "-Werror"])
        .args(cflags)
        .arg(here().join(format!("{name}.c")))
        .arg("-o")
        .arg(&out)
        .args(libs)
        .status()
        .expect("gcc runs");
    assert!(st.success(), "gcc failed on {name}.c");
    out
}

/// Runs `prog` under `dmasync exec`; returns its stdout, and an error that
/// says how it ended unless it exited with 0.
fn run_under_dmasync(prog: &Path) -> (String, Result<(), String>) {
    let dmasync = binaries().join("dmasync");
    let mut child = match Command::new(&dmasync)
        .arg("exec")
        .arg("--")
        .arg(prog)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return (String::new(), Err(format!("{}: {e}", dmasync.display()))),
    };
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(e) => return (String::new(), Err(e.to_string())),
        }
        if start.elapsed() > TIMEOUT {
            // SIGTERM is passed on to the program by the supervisor.
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            std::thread::sleep(Duration::from_secs(2));
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    let how = match status {
        Some(st) if st.success() => Ok(()),
        Some(st) => Err(format!("{st}; stderr:\n{err}")),
        None => Err(format!("timed out after {TIMEOUT:?}; stderr:\n{err}")),
    };
    (out, how)
}

/// A line-level diff of `want` (golden) and `got`, unified-style.
fn render_diff(want: &[&str], got: &[&str]) -> String {
    // Longest common subsequence table; the outputs are a few hundred lines.
    let (n, m) = (want.len(), got.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if want[i] == got[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && want[i] == got[j] {
            ops.push((' ', i, want[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i, want[i]));
            i += 1;
        } else {
            ops.push(('+', j, got[j]));
            j += 1;
        }
    }
    // Print changes with two lines of context.
    let mut out = String::new();
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut last_printed: Option<usize> = None;
    for &k in &changed {
        let from = k.saturating_sub(2);
        let to = (k + 2).min(ops.len() - 1);
        for (idx, op) in ops.iter().enumerate().take(to + 1).skip(from) {
            if last_printed.is_some_and(|l| idx <= l) {
                continue;
            }
            if last_printed.is_some_and(|l| idx > l + 1) || (last_printed.is_none() && idx > 0) {
                out.push_str("  ...\n");
            }
            out.push_str(&format!("{} {:4} {}\n", op.0, op.1 + 1, op.2));
            last_printed = Some(idx);
        }
    }
    out
}

/// Writes to the real stderr, past the test harness's capture.
fn say(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

/// Compares `got` with golden/`golden`.txt, allowing the known differences
/// of `probe`; returns the number of identical lines.
fn compare(probe: &str, golden: &str, got: &str) -> Result<usize, String> {
    let path = here().join("golden").join(format!("{golden}.txt"));
    let want_text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e} (run tests/diff/regenerate.sh)", path.display()))?;
    if has_sys_admin() {
        return compare_lines(probe, golden, &want_text, got, KNOWN);
    }
    let known: Vec<_> = KNOWN.iter().chain(UNPRIVILEGED).copied().collect();
    compare_lines(probe, golden, &want_text, got, &known)
}

/// Golden lines that depend on the caller's privileges: the oracle runs
/// the probes as root; without CAP_SYS_ADMIN the kernel (and dmasync)
/// answer these as given here. (probe, golden line, unprivileged line,
/// why).
const UNPRIVILEGED: &Known = &[
    (
        "drm-rs",
        "card0 again: authenticated yes",
        "card0 again: authenticated no",
        "a primary file is authenticated at open only for CAP_SYS_ADMIN",
    ),
    (
        "drm-rs",
        "card0 again: acquire_master_lock while card0 is master EBUSY",
        "card0 again: acquire_master_lock while card0 is master EACCES",
        "SET_MASTER by a file never master needs CAP_SYS_ADMIN",
    ),
    (
        "drm-rs",
        "card0 again: release_master_lock, not master EINVAL",
        "card0 again: release_master_lock, not master EACCES",
        "DROP_MASTER by a file never master needs CAP_SYS_ADMIN",
    ),
    (
        "drm-rs",
        "card0 again: acquire_master_lock ok",
        "card0 again: acquire_master_lock EACCES",
        "SET_MASTER by a file never master needs CAP_SYS_ADMIN",
    ),
    (
        "drm-rs",
        "card0 again: release_master_lock ok",
        "card0 again: release_master_lock EACCES",
        "DROP_MASTER by a file never master needs CAP_SYS_ADMIN",
    ),
    (
        "libdrm",
        "prim: drmSetMaster while card is EBUSY",
        "prim: drmSetMaster while card is EACCES",
        "SET_MASTER by a file never master needs CAP_SYS_ADMIN",
    ),
    (
        "libdrm",
        "prim: drmDropMaster, not master EINVAL",
        "prim: drmDropMaster, not master EACCES",
        "DROP_MASTER by a file never master needs CAP_SYS_ADMIN",
    ),
    (
        "libdrm",
        "prim: drmSetMaster ok",
        "prim: drmSetMaster EACCES",
        "SET_MASTER by a file never master needs CAP_SYS_ADMIN",
    ),
    (
        "libdrm",
        "prim: drmIsMaster 1",
        "prim: drmIsMaster 0",
        "SET_MASTER by a file never master needs CAP_SYS_ADMIN",
    ),
    (
        "libdrm",
        "prim: drmDropMaster ok",
        "prim: drmDropMaster EACCES",
        "DROP_MASTER by a file never master needs CAP_SYS_ADMIN",
    ),
    (
        "libdrm",
        "card: drmSetBusid EINVAL",
        "card: drmSetBusid EACCES",
        "SET_UNIQUE is DRM_ROOT_ONLY: CAP_SYS_ADMIN",
    ),
    (
        "libdrm",
        "card: drmCreateDrawable ok",
        "card: drmCreateDrawable EACCES",
        "ADD_DRAW is DRM_ROOT_ONLY: CAP_SYS_ADMIN",
    ),
    (
        "procfd",
        "heap: fdinfo O_WRONLY ok",
        "heap: fdinfo O_WRONLY EACCES",
        "/proc/<pid>/fdinfo files are 0400: only root opens one for writing",
    ),
    (
        "sysfs",
        "open /sys/dev/char/226:0/uevent O_WRONLY ok",
        "open /sys/dev/char/226:0/uevent O_WRONLY EACCES",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
    (
        "sysfs",
        "open /sys/dev/char/226:0/uevent O_RDWR ok",
        "open /sys/dev/char/226:0/uevent O_RDWR EACCES",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
    (
        "sysfs",
        "write /sys/class/drm/card0/uevent: open O_WRONLY|O_CREAT|O_TRUNC ok",
        "write /sys/class/drm/card0/uevent: open O_WRONLY|O_CREAT|O_TRUNC EACCES",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
    (
        "sysfs",
        "write /sys/class/drm/card0/uevent: \"change\" ok",
        "",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
    (
        "sysfs",
        "write /sys/class/drm/card0/uevent: \"add\" again ok",
        "",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
    (
        "sysfs",
        "write /sys/class/drm/card0/uevent: fstat type reg perm 644 size 4096",
        "",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
    (
        "sysfs",
        "write /sys/class/drm/card0/uevent: read EBADF",
        "",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
    (
        "sysfs",
        "write /sys/devices/platform/vgem/uevent: open O_WRONLY|O_CREAT|O_TRUNC ok",
        "write /sys/devices/platform/vgem/uevent: open O_WRONLY|O_CREAT|O_TRUNC EACCES",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
    (
        "sysfs",
        "write /sys/devices/platform/vgem/uevent: \"change\" ok",
        "",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
    (
        "sysfs",
        "write /sys/devices/platform/vgem/uevent: \"add\" again ok",
        "",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
    (
        "sysfs",
        "write /sys/devices/platform/vgem/uevent: fstat type reg perm 644 size 4096",
        "",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
    (
        "sysfs",
        "write /sys/devices/platform/vgem/uevent: read EBADF",
        "",
        "a uevent is root's, 0644: writing it needs root or CAP_DAC_OVERRIDE",
    ),
];

/// Whether this test runs with CAP_SYS_ADMIN (as the oracle's probes do).
fn has_sys_admin() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << 21) != 0)
}

/// The type of [`KNOWN`].
type Known = [(&'static str, &'static str, &'static str, &'static str)];

/// [`compare`] with the golden text and the known differences given.
fn compare_lines(
    probe: &str,
    golden: &str,
    want_text: &str,
    got: &str,
    known: &Known,
) -> Result<usize, String> {
    let want: Vec<&str> = want_text.lines().collect();
    let got: Vec<&str> = got.lines().collect();
    let known: Vec<_> = known.iter().filter(|k| k.0 == probe).collect();
    let mut problems = Vec::new();
    let mut accepted = Vec::new();
    let mut fixed = Vec::new();
    let (mut i, mut j) = (0, 0);
    // Known entries used as a difference, and golden lines a known entry
    // names that dmasync printed as is (the same golden line may be
    // printed several times, differing only some of them).
    let mut used = vec![false; known.len()];
    let mut same: Vec<(usize, usize)> = Vec::new();
    while i < want.len() && j <= got.len() {
        let w = want[i];
        let ki = known.iter().position(|k| k.1 == w);
        let k = ki.map(|ki| known[ki]);
        // An entry with an empty dmasync line: dmasync prints no such line.
        if let Some(k) = k.filter(|k| k.2.is_empty()) {
            if got.get(j) == Some(&w) {
                fixed.push(format!(
                    "  line {}: {:?} is printed now: delete its entry in KNOWN",
                    i + 1,
                    w
                ));
                j += 1;
            } else {
                accepted.push(format!(
                    "  line {}: kernel {:?}, dmasync none ({})",
                    i + 1,
                    w,
                    k.3
                ));
            }
            i += 1;
            continue;
        }
        let Some(&g) = got.get(j) else { break };
        match (k, ki) {
            (Some(k), Some(ki)) if k.2 == g => {
                used[ki] = true;
                accepted.push(format!(
                    "  line {}: kernel {:?}, dmasync {:?} ({})",
                    i + 1,
                    w,
                    g,
                    k.3
                ))
            }
            (Some(_), Some(ki)) if w == g => same.push((ki, i)),
            _ if w != g => problems.push(i),
            _ => {}
        }
        i += 1;
        j += 1;
    }
    for (ki, line) in same {
        if !used[ki] {
            fixed.push(format!(
                "  line {}: {:?} no longer differs: delete its entry in KNOWN",
                line + 1,
                want[line]
            ));
        }
    }
    if i == want.len() && j == got.len() {
        if !accepted.is_empty() {
            say(&format!(
                "{probe}: {} known difference(s) accepted:\n{}",
                accepted.len(),
                accepted.join("\n")
            ));
        }
        if problems.is_empty() && fixed.is_empty() {
            return Ok(want.len() - accepted.len());
        }
        if !fixed.is_empty() {
            return Err(fixed.join("\n"));
        }
    }
    Err(format!(
        "{probe}: output differs from golden/{golden}.txt ({} kernel lines, {} dmasync lines{}):\n\
         (- kernel line, + dmasync line, with their line numbers)\n{}",
        want.len(),
        got.len(),
        if problems.is_empty() {
            String::new()
        } else {
            format!(", {} unexpected line(s)", problems.len())
        },
        render_diff(&want, &got)
    ))
}

fn check_c_probe(probe: &str) {
    assert!(PROBES.contains(&probe), "{probe} is not in PROBES");
    let bin = build_probe(probe);
    let (got, how) = run_under_dmasync(&bin);
    report(probe, probe, &got, how);
}

/// Panics with the diff (and how the probe ended) unless `got` matches.
fn report(probe: &str, golden: &str, got: &str, how: Result<(), String>) {
    match (compare(probe, golden, got), how) {
        (Ok(n), Ok(())) => say(&format!(
            "{probe}: {n} lines identical to the kernel's golden/{golden}.txt, the rest known differences"
        )),
        (Ok(_), Err(how)) => panic!("{probe}: same output as the kernel's, but it ended with {how}"),
        (Err(diff), Ok(())) => panic!("{diff}"),
        (Err(diff), Err(how)) => panic!("{diff}\n{probe} ended with {how}"),
    }
}

macro_rules! c_probe {
    ($test:ident, $probe:literal) => {
        #[test]
        fn $test() {
            check_c_probe($probe);
        }
    };
}

c_probe!(diff_sync, "sync");
c_probe!(diff_sync_files, "sync-files");
c_probe!(diff_sync_bad, "sync-bad");
c_probe!(diff_dmabuf, "dmabuf");
c_probe!(diff_dmabuf_files, "dmabuf-files");
c_probe!(diff_dmabuf_bad, "dmabuf-bad");
c_probe!(diff_vgem, "vgem");
c_probe!(diff_vgem_expiry, "vgem-expiry");
c_probe!(diff_stat, "stat");
c_probe!(diff_procfd, "procfd");
c_probe!(diff_sysfs, "sysfs");
c_probe!(diff_debugfs, "debugfs");
c_probe!(diff_udev, "udev");
c_probe!(diff_libdrm, "libdrm");
c_probe!(diff_statfs, "statfs");
c_probe!(diff_maps, "maps");

/// The Rust probe (rustix ioctls) gives the C probe's answers.
#[test]
fn diff_rust_probe() {
    let bin = binaries().join("dmasync-probe");
    let (got, how) = run_under_dmasync(&bin);
    report("dmasync-probe", "sync", &got, how);
}

/// A client of the `drm` crate (drm-rs), unmodified, gives the kernel's
/// answers (golden/drm-rs.txt).
#[test]
fn diff_drm_rs() {
    let bin = binaries().join("dmasync-drm-probe");
    let (got, how) = run_under_dmasync(&bin);
    report("drm-rs", "drm-rs", &got, how);
}

/// Every probe has its source and its golden file; the lists name only
/// probes that exist.
#[test]
fn probes_have_sources_and_golden_files() {
    for p in PROBES {
        assert!(here().join(format!("{p}.c")).is_file(), "{p}.c missing");
        assert!(
            here().join("golden").join(format!("{p}.txt")).is_file(),
            "golden/{p}.txt missing: run tests/diff/regenerate.sh"
        );
    }
    for k in KNOWN.iter().chain(UNPRIVILEGED) {
        assert!(
            PROBES.contains(&k.0) || k.0 == "dmasync-probe" || k.0 == "drm-rs",
            "known difference of unknown probe {}",
            k.0
        );
        let golden = std::fs::read_to_string(here().join("golden").join(format!("{}.txt", k.0)))
            .unwrap_or_default();
        assert!(
            golden.lines().any(|l| l == k.1),
            "known difference {:?} is not a line of golden/{}.txt",
            k.1,
            k.0
        );
    }
    let mut sources: Vec<String> = std::fs::read_dir(here())
        .expect("tests/diff")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".c"))
                .map(str::to_string)
        })
        .collect();
    sources.sort();
    let mut listed: Vec<String> = PROBES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(sources, listed, "every tests/diff/*.c is a probe in PROBES");
}

/// The diff shows what changed, with line numbers of the golden file.
#[test]
fn render_diff_shows_changed_lines() {
    let d = render_diff(&["a", "b", "c", "d"], &["a", "x", "c", "d", "e"]);
    assert!(d.contains("-    2 b"), "{d}");
    assert!(d.contains("+    2 x"), "{d}");
    assert!(d.contains("+    5 e"), "{d}");
}

/// A known difference with no dmasync line accepts the golden line's
/// absence, and fails once dmasync prints it.
#[test]
fn known_missing_lines_are_accepted_until_printed() {
    let known: &Known = &[("dmabuf", "heap: fdinfo size:\t16384", "", "a test entry")];
    let missing = &known[0];
    let want = format!("first\n{}\nlast\n", missing.1);
    assert_eq!(
        compare_lines("dmabuf", "dmabuf", &want, "first\nlast\n", known),
        Ok(2)
    );
    let printed = compare_lines("dmabuf", "dmabuf", &want, &want, known).unwrap_err();
    assert!(printed.contains("is printed now"), "{printed}");
    // Any other missing line is still a difference.
    assert!(compare_lines("dmabuf", "dmabuf", &want, "first\n", known).is_err());
    assert!(compare_lines("dmabuf", "dmabuf", "first\nsecond\n", "first\n", known).is_err());
}

/// A known entry for a golden line printed several times accepts the
/// occurrences that differ and the ones that do not; it fails only when no
/// occurrence differs any more.
#[test]
fn a_known_line_may_also_be_printed_as_is() {
    let known: &Known = &[(
        "drm-rs",
        "authenticated yes",
        "authenticated no",
        "a test entry",
    )];
    let want = "a\nauthenticated yes\nb\nauthenticated yes\n";
    let got = "a\nauthenticated no\nb\nauthenticated yes\n";
    assert_eq!(compare_lines("drm-rs", "drm-rs", want, got, known), Ok(3));
    let fixed = compare_lines("drm-rs", "drm-rs", want, want, known).unwrap_err();
    assert!(fixed.contains("no longer differs"), "{fixed}");
}

/// Without CAP_SYS_ADMIN the probes print the [`UNPRIVILEGED`] lines where
/// the oracle (root) printed the golden ones: that output is accepted.
#[test]
fn unprivileged_answers_are_accepted_in_place_of_roots() {
    let known: Vec<_> = KNOWN.iter().chain(UNPRIVILEGED).copied().collect();
    for probe in ["drm-rs", "procfd", "libdrm"] {
        let want = std::fs::read_to_string(here().join("golden").join(format!("{probe}.txt")))
            .expect("golden file");
        // The first occurrence of each line is the one that differs.
        let mut got = want.clone();
        for u in UNPRIVILEGED.iter().filter(|u| u.0 == probe) {
            got = got.replacen(&format!("{}\n", u.1), &format!("{}\n", u.2), 1);
        }
        assert_ne!(got, want);
        compare_lines(probe, probe, &want, &got, &known).expect("accepted");
    }
}
