//! Runs small C probes (tests/probes/probes.c, compiled with gcc, dynamic
//! and static) under the supervisor and checks their exit codes.
//!
//! The supervisor must be the last thing its process does, so each probe
//! runs in a fresh copy of this test binary started with
//! `DMASYNC_EXEC_HELPER=1`, which calls [`dmasync_exec::exec`] and exits
//! with the program's code. `harness = false`: `main` is the runner; an
//! argument selects tests whose name contains it.
//!
//! Set `DMASYNC_SELFTEST_SYNC=1` to also run the kernel's sync, dmabuf-heaps
//! and udmabuf selftests (tests/selftest-sync.sh, tests/selftest-dmabuf.sh;
//! they fetch Debian's linux-source-6.12 once).

use std::path::{Path, PathBuf};
use std::process::Command;

const HELPER: &str = "DMASYNC_EXEC_HELPER";

fn helper_main() -> ! {
    let argv: Vec<_> = std::env::args_os().skip(1).collect();
    let session = std::env::var("DMASYNC_EXEC_TEST_SESSION").ok();
    let options = dmasync_exec::ExecOptions { argv, session };
    match dmasync_exec::exec(&options) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("helper: {e}");
            std::process::exit(127)
        }
    }
}

/// Compiles `tests/probes/<name>.c` (dynamic, or static with `-static`).
fn build_probe(name: &str, static_link: bool) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/probes/{name}.c"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(if static_link {
        format!("{name}-static")
    } else {
        name.to_string()
    });
    let mut cmd = Command::new("gcc");
    cmd.args(["-O2", "-Wall", "-Werror", "-pthread"])
        .arg(&src)
        .arg("-o")
        .arg(&out);
    if static_link {
        cmd.arg("-static");
    }
    let status = cmd.status().expect("gcc runs");
    assert!(status.success(), "gcc failed on {}", src.display());
    out
}

/// Runs `argv` under the supervisor; returns the exit code.
/// A run that has not ended after this long hangs (a liveness guard that
/// turns a hang into a failure, not a timing assertion).
const HANG: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs `argv` under the supervisor; returns the exit code (-1 if it hung
/// and was killed).
fn run_exec(argv: &[&std::ffi::OsStr]) -> i32 {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(HELPER, "1")
        .args(argv)
        .spawn()
        .expect("helper starts");
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        if start.elapsed() > HANG {
            eprintln!("hung: {argv:?}");
            let _ = child.kill();
            let _ = child.wait();
            return -1;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn probe(bin: &Path, name: &str) -> Result<(), String> {
    let code = run_exec(&[bin.as_os_str(), name.as_ref()]);
    if code == 0 {
        Ok(())
    } else {
        Err(format!("probe {name} exited with {code}"))
    }
}

type Test = (&'static str, Box<dyn Fn() -> Result<(), String>>);

fn tests() -> Vec<Test> {
    let dynamic = build_probe("probes", false);
    let static_ = build_probe("probes", true);
    let mut v: Vec<Test> = Vec::new();
    for (suffix, static_link) in [("", false), ("_static", true)] {
        // 4 processes x 4 threads x 300 random operations each, checked
        // as they go, then no leak in the program or the supervisor.
        let bin = build_probe("stress", static_link);
        // `signals`: the same while SIGUSR1 keeps interrupting the workers.
        // `epoll-release`: a buffer closed with its epoll and no DEL is
        // let go by the supervisor (fds back to where they were).
        for (name, args) in [
            ("stress", &["300"][..]),
            ("stress_signals", &["signals", "300"][..]),
            ("stress_epoll_release", &["epoll-release"][..]),
        ] {
            let bin = bin.clone();
            let test_name: &'static str = Box::leak(format!("{name}{suffix}").into_boxed_str());
            v.push((
                test_name,
                Box::new(move || {
                    let mut argv = vec![bin.as_os_str()];
                    argv.extend(args.iter().map(std::ffi::OsStr::new));
                    let code = run_exec(&argv);
                    (code == 0)
                        .then_some(())
                        .ok_or(format!("stress {args:?} exited with {code}"))
                }),
            ));
        }
    }
    for (suffix, bin) in [("", dynamic.clone()), ("_static", static_)] {
        for name in [
            "paths",
            "sync-file",
            "errors",
            "fork",
            "release",
            "thread",
            "leaks",
            "cloexec",
            "signals",
            "info",
            "clean-start",
            "heap",
            "udmabuf",
            "vgem",
            "buf-leaks",
            "poll",
            "epoll",
            "select",
            "procfd",
            "mmap",
            "drm-churn",
        ] {
            let bin = bin.clone();
            let test_name: &'static str =
                Box::leak(format!("probe_{}{suffix}", name.replace('-', "_")).into_boxed_str());
            v.push((test_name, Box::new(move || probe(&bin, name))));
        }
    }
    let bin = dynamic.clone();
    v.push((
        "exit_code_is_passed_on",
        Box::new(move || {
            let code = run_exec(&[bin.as_os_str(), "exit".as_ref(), "7".as_ref()]);
            (code == 7)
                .then_some(())
                .ok_or(format!("exit code {code}, want 7"))
        }),
    ));
    let bin = dynamic.clone();
    v.push((
        "killed_by_signal_gives_128_plus_signal",
        Box::new(move || {
            let code = run_exec(&[bin.as_os_str(), "kill".as_ref(), "9".as_ref()]);
            (code == 137)
                .then_some(())
                .ok_or(format!("exit code {code}, want 137"))
        }),
    ));
    let bin = dynamic.clone();
    v.push((
        "sigterm_is_passed_on",
        Box::new(move || {
            use std::io::BufRead;
            let mut child = Command::new(std::env::current_exe().expect("own path"))
                .env(HELPER, "1")
                .arg(&bin)
                .arg("wait-term")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())?;
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().expect("piped"))
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            if line.trim() != "ready" {
                return Err(format!("probe said {line:?}"));
            }
            Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status()
                .map_err(|e| e.to_string())?;
            let code = child.wait().map_err(|e| e.to_string())?.code();
            (code == Some(42))
                .then_some(())
                .ok_or(format!("exit {code:?}, want 42"))
        }),
    ));
    for (name, same_session) in [
        ("programs_of_one_session_share_objects", true),
        ("separate_supervisors_do_not_share", false),
    ] {
        let bin = dynamic.clone();
        v.push((
            name,
            Box::new(move || {
                let sock = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("share-{name}"));
                let session = format!("test-{}-{name}", std::process::id());
                let start = |role: &str, session: Option<&str>| {
                    let mut c = Command::new(std::env::current_exe().expect("own path"));
                    c.env(HELPER, "1").arg(&bin).arg(role).arg(&sock);
                    if let Some(s) = session {
                        c.env("DMASYNC_EXEC_TEST_SESSION", s);
                    }
                    c.spawn()
                };
                let mut server =
                    start("share-server", Some(&session)).map_err(|e| e.to_string())?;
                let client_session = same_session.then_some(session.as_str());
                let mut client =
                    start("share-client", client_session).map_err(|e| e.to_string())?;
                let c = client.wait().map_err(|e| e.to_string())?.code();
                let s = server.wait().map_err(|e| e.to_string())?.code();
                let want = if same_session {
                    (Some(0), Some(0))
                } else {
                    (Some(3), Some(3))
                };
                ((c, s) == want)
                    .then_some(())
                    .ok_or(format!("client {c:?}, server {s:?}, want {want:?}"))
            }),
        ));
    }
    v.push((
        "bench_table_prints_every_row",
        Box::new(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probes");
            let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
            for name in ["bench_inc", "bench_poll", "bench_sync", "bench_table"] {
                let status = Command::new("gcc")
                    .args(["-O2", "-Wall", "-Werror"])
                    .arg(dir.join(format!("{name}.c")))
                    .arg("-o")
                    .arg(tmp.join(name))
                    .status()
                    .map_err(|e| e.to_string())?;
                if !status.success() {
                    return Err(format!("gcc failed on {name}.c"));
                }
            }
            let out = Command::new(std::env::current_exe().expect("own path"))
                .env(HELPER, "1")
                .arg(tmp.join("bench_table"))
                .arg("40")
                .output()
                .map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&out.stdout);
            let rows: Vec<&str> = text.lines().collect();
            // Every row has a figure: no device is missing under exec.
            let bad: Vec<&&str> = rows.iter().filter(|l| !l.ends_with(" ns/op")).collect();
            (out.status.success() && rows.len() == 12 && bad.is_empty())
                .then_some(())
                .ok_or(format!("{:?}: {text}", out.status))
        }),
    ));
    v.push((
        "missing_program_is_an_error",
        Box::new(|| {
            let code = run_exec(&["/nonexistent/program".as_ref()]);
            (code == 127)
                .then_some(())
                .ok_or(format!("exit code {code}, want 127"))
        }),
    ));
    let bin = dynamic.clone();
    v.push((
        "orphans_are_served_and_waited_for",
        Box::new(move || {
            // The shell exits at once; its background child runs a probe
            // later, which must still be served, and exec waits for it.
            let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("orphan-status");
            let _ = std::fs::remove_file(&out);
            let script = format!(
                "(sleep 0.3; '{}' sync-file; echo $? > '{}') &",
                bin.display(),
                out.display()
            );
            let code = run_exec(&["/bin/sh".as_ref(), "-c".as_ref(), script.as_ref()]);
            let text = std::fs::read_to_string(&out)
                .map_err(|e| format!("the orphan left no status: {e}"))?;
            (code == 0 && text.trim() == "0")
                .then_some(())
                .ok_or(format!("exit {code}, orphan status {text:?}"))
        }),
    ));
    v.push((
        "selftest_sync",
        Box::new(|| kernel_selftest("selftest-sync.sh")),
    ));
    v.push((
        "selftest_dmabuf_heaps_udmabuf",
        Box::new(|| kernel_selftest("selftest-dmabuf.sh")),
    ));
    v
}

/// Runs one of the kernel-selftest scripts (tests/selftest-*.sh) against a
/// fresh debug build of `dmasync`, when `DMASYNC_SELFTEST_SYNC` is set.
fn kernel_selftest(script: &str) -> Result<(), String> {
    if std::env::var_os("DMASYNC_SELFTEST_SYNC").is_none() {
        println!("  (skipped: set DMASYNC_SELFTEST_SYNC=1)");
        return Ok(());
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let st = Command::new("cargo")
        .args(["build", "-p", "dmasync-cli"])
        .current_dir(&root)
        .status()
        .map_err(|e| e.to_string())?;
    if !st.success() {
        return Err("building dmasync failed".into());
    }
    let st = Command::new("bash")
        .arg(path)
        .status()
        .map_err(|e| e.to_string())?;
    st.success().then_some(()).ok_or(format!("{script} failed"))
}

fn main() {
    if std::env::var_os(HELPER).is_some() {
        helper_main();
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, test) in tests() {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        match test() {
            Ok(()) => println!("test {name} ... ok"),
            Err(e) => {
                println!("test {name} ... FAILED: {e}");
                failed.push(name);
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        ran - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        std::process::exit(1);
    }
}
