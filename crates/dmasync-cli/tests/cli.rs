//! The `dmasync` command's exit codes and output.

use std::process::{Command, Output};

fn dmasync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmasync"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp(name: &str, text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("dmasync-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn run_without_argument_runs_the_default_scenario_cleanly() {
    let o = dmasync(&["run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("scenario wsi"), "{out}");
    assert!(out.contains("verdict: clean"), "{out}");
}

#[test]
fn run_list_gives_a_name_a_line_name_first() {
    let o = dmasync(&["run", "--list"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let names: Vec<&str> = out
        .lines()
        .map(|l| l.split(char::is_whitespace).next().unwrap())
        .collect();
    assert_eq!(names[0], "wsi");
    for n in [
        "camera-encoder",
        "memory-pressure",
        "leak-move-fence",
        "dropped-write-fence",
    ] {
        assert!(names.contains(&n), "{out}");
    }
    assert!(out
        .lines()
        .all(|l| l.len() > l.split('\t').next().unwrap().len()));
}

#[test]
fn check_exits_zero_on_a_clean_scenario_and_one_on_a_broken_rule() {
    let o = dmasync(&["check", "memory-pressure"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let o = dmasync(&["check", "leak-move-fence"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("verdict: broken rules C3"));
    // `run` reports but does not fail on a broken rule.
    let o = dmasync(&["run", "leak-move-fence"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("C3"));
}

#[test]
fn run_and_check_take_a_file_and_write_a_trace() {
    let sc = temp(
        "ok.toml",
        "[[engine]]\nname = \"gpu\"\n[[buffer]]\nname = \"b\"\nexporter = \"gpu\"\n[[step]]\nop = \"submit\"\nengine = \"gpu\"\nwrites = [\"b\"]\n",
    );
    let trace = std::env::temp_dir().join(format!("dmasync-cli-{}-trace.json", std::process::id()));
    let o = dmasync(&[
        "check",
        sc.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    assert!(v["traceEvents"].as_array().is_some_and(|a| !a.is_empty()));
    let _ = std::fs::remove_file(&trace);
    let o = dmasync(&["run", sc.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let _ = std::fs::remove_file(&sc);
}

#[test]
fn a_scenario_with_a_mistake_exits_two_naming_file_and_line() {
    let sc = temp(
        "bad.toml",
        "[[engine]]\nname = \"gpu\"\n\n[[step]]\nop = \"submit\"\nengine = \"npu\"\n",
    );
    for cmd in ["run", "check"] {
        let o = dmasync(&[cmd, sc.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        let err = stderr(&o);
        assert!(err.contains(&format!("{}:6:", sc.display())), "{err}");
        assert!(err.contains("unknown engine `npu`"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let _ = std::fs::remove_file(&sc);
}

#[test]
fn unknown_names_and_missing_files_exit_two() {
    let o = dmasync(&["run", "no-such-scenario"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no built-in scenario or file named"));
    let o = dmasync(&["check", "/nonexistent/x.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/x.toml"));
    let o = dmasync(&["check"]);
    assert_eq!(o.status.code(), Some(2), "clap usage error");
}
