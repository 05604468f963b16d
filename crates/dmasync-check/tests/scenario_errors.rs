//! Every kind of mistake in a scenario file gives an error naming the file,
//! the line and what is wrong; nothing panics.

use dmasync_check::Scenario;

const HEAD: &str = r#"
[[engine]]
name = "gpu"

[[engine]]
name = "display"
kind = "display"

[[buffer]]
name = "fb"
exporter = "gpu"
importers = [{ engine = "display" }]
"#;

/// Parses HEAD + `tail` and returns the error's line (counted in the
/// whole text) and message.
fn error(tail: &str) -> (usize, String) {
    let src = format!("{HEAD}{tail}");
    let e = Scenario::parse(&src, "bad.toml", "bad").expect_err("must be rejected");
    assert_eq!(e.file, "bad.toml");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("bad.toml:{}:", e.line)),
        "{shown}"
    );
    (e.line, e.message)
}

/// The line of the first occurrence of `needle` in HEAD + tail.
fn line_of(tail: &str, needle: &str) -> usize {
    let src = format!("{HEAD}{tail}");
    let at = src.find(needle).expect("needle present");
    src[..at].matches('\n').count() + 1
}

#[test]
fn the_head_alone_is_valid() {
    let sc = Scenario::parse(HEAD, "ok.toml", "ok").unwrap();
    assert_eq!(sc.name, "ok");
    assert_eq!(sc.engines.len(), 2);
}

#[test]
fn bad_toml_syntax() {
    let tail = "\n[[step]]\nop = \"submit\nengine = \"gpu\"\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "op = "));
    assert!(!msg.is_empty());
}

#[test]
fn unknown_key() {
    let tail = "\n[[step]]\nop = \"submit\"\nengine = \"gpu\"\nwrite = [\"fb\"]\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "write = "));
    assert!(msg.contains("write"), "{msg}");
}

#[test]
fn unknown_engine_in_a_step() {
    let tail = "\n[[step]]\nop = \"submit\"\nengine = \"gpu3\"\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "engine = \"gpu3\""));
    assert!(
        msg.contains("unknown engine `gpu3`") && msg.contains("gpu, display"),
        "{msg}"
    );
}

#[test]
fn unknown_exporter_of_a_buffer() {
    let tail = "\n[[buffer]]\nname = \"b2\"\nexporter = \"vpu\"\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "exporter = \"vpu\""));
    assert!(msg.contains("unknown engine `vpu`"), "{msg}");
}

#[test]
fn unknown_buffer() {
    let tail = "\n[[step]]\nop = \"submit\"\nengine = \"gpu\"\nreads = [\"fb\", \"fb2\"]\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "reads = "));
    assert!(msg.contains("unknown buffer `fb2`"), "{msg}");
}

#[test]
fn unknown_step_op() {
    let tail = "\n[[step]]\nop = \"flip\"\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "op = \"flip\""));
    assert!(msg.contains("unknown step `flip`"), "{msg}");
}

#[test]
fn engine_without_an_attachment_cannot_access_the_buffer() {
    let tail = "\n[[buffer]]\nname = \"private\"\nexporter = \"gpu\"\n\n[[step]]\nop = \"present\"\nengine = \"display\"\nbuffer = \"private\"\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "buffer = \"private\""));
    assert!(msg.contains("cannot access buffer `private`"), "{msg}");
}

#[test]
fn fence_used_before_it_is_produced() {
    let tail = "\n[[step]]\nop = \"present\"\nengine = \"display\"\nbuffer = \"fb\"\nwait = [\"frame\"]\n\n[[step]]\nop = \"submit\"\nengine = \"gpu\"\nout = \"frame\"\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "wait = "));
    assert!(
        msg.contains("fence `frame` is not produced by any earlier step"),
        "{msg}"
    );
}

#[test]
fn evicting_a_buffer_whose_exporter_cannot_move_it() {
    let tail = "\n[[step]]\nop = \"evict\"\nbuffer = \"fb\"\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "buffer = \"fb\""));
    assert!(msg.contains("cannot move"), "{msg}");
}

#[test]
fn a_step_with_a_key_its_op_does_not_take() {
    let tail = "\n[[step]]\nop = \"wait\"\nall = true\nbuffer = \"fb\"\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "buffer = \"fb\""));
    assert!(msg.contains("a `wait` step takes no `buffer`"), "{msg}");
}

#[test]
fn a_step_missing_a_required_key() {
    let tail = "\n[[step]]\nop = \"submit\"\nlabel = \"x\"\n";
    let (line, msg) = error(tail);
    assert!(
        line >= line_of(tail, "[[step]]") && line <= line_of(tail, "label"),
        "line {line}"
    );
    assert!(msg.contains("needs `engine`"), "{msg}");
}

#[test]
fn a_wrong_value_type() {
    let tail = "\n[[step]]\nop = \"submit\"\nengine = \"gpu\"\nduration_us = \"long\"\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "duration_us"));
    assert!(!msg.is_empty());
}

#[test]
fn unknown_misbehaviour_sync_mode_and_attachment() {
    let (line, msg) =
        error("\n[[step]]\nop = \"submit\"\nengine = \"gpu\"\nmisbehave = [\"explode\"]\n");
    assert!(
        line > 0 && msg.contains("unknown misbehaviour `explode`"),
        "{msg}"
    );
    let src = "[[engine]]\nname = \"gpu\"\nsync = \"psychic\"\n";
    let e = Scenario::parse(src, "s.toml", "s").unwrap_err();
    assert_eq!(
        (e.line, e.message.contains("unknown sync mode")),
        (3, true),
        "{e}"
    );
    let src = "[[engine]]\nname = \"gpu\"\n[[engine]]\nname = \"d\"\n[[buffer]]\nname = \"b\"\nexporter = \"gpu\"\nimporters = [{ engine = \"d\", attach = \"glued\" }]\n";
    let e = Scenario::parse(src, "s.toml", "s").unwrap_err();
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("unknown attachment `glued`"), "{e}");
}

#[test]
fn duplicate_names_and_no_engines() {
    let (line, msg) = error("\n[[engine]]\nname = \"gpu\"\n");
    assert!(line > 10 && msg.contains("declared twice"), "{msg}");
    let e = Scenario::parse("name = \"x\"\n", "e.toml", "e").unwrap_err();
    assert!(e.message.contains("no engine"), "{e}");
    assert_eq!(e.line, 1);
}

#[test]
fn a_missing_file_is_named() {
    let e = Scenario::load(std::path::Path::new("/nonexistent/dir/x.toml")).unwrap_err();
    assert_eq!(e.file, "/nonexistent/dir/x.toml");
    assert!(e.to_string().contains("cannot read"), "{e}");
}

#[test]
fn garbage_never_panics() {
    // Truncations of a valid file at every byte: errors or successes, no panic.
    let src = format!(
        "{HEAD}\n[[step]]\nop = \"submit\"\nengine = \"gpu\"\nwrites = [\"fb\"]\nout = \"f\"\n\n[[step]]\nop = \"present\"\nengine = \"display\"\nbuffer = \"fb\"\nwait = [\"f\"]\n"
    );
    let mut errors = 0;
    for cut in 0..src.len() {
        if !src.is_char_boundary(cut) {
            continue;
        }
        if let Err(e) = Scenario::parse(&src[..cut], "cut.toml", "cut") {
            errors += 1;
            assert!(
                e.line >= 1 && e.line <= src[..cut].matches('\n').count() + 1,
                "{e}"
            );
        }
    }
    assert!(errors > 0);
}

#[test]
fn only_an_importer_detaches() {
    let tail = "\n[[step]]\nop = \"detach\"\nbuffer = \"fb\"\nengine = \"gpu\"\n";
    let (line, msg) = error(tail);
    assert_eq!(line, line_of(tail, "engine = \"gpu\""));
    assert!(msg.contains("does not import buffer `fb`"), "{msg}");
}

#[test]
fn a_detached_importer_cannot_access_the_buffer_or_detach_again() {
    let detach = "\n[[step]]\nop = \"detach\"\nbuffer = \"fb\"\nengine = \"display\"\n";
    let tail =
        format!("{detach}\n[[step]]\nop = \"present\"\nengine = \"display\"\nbuffer = \"fb\"\n");
    let (line, msg) = error(&tail);
    let src = format!("{HEAD}{tail}");
    let last = src.rfind("buffer = \"fb\"").unwrap();
    assert_eq!(line, src[..last].matches('\n').count() + 1);
    assert!(msg.contains("detached from it in an earlier step"), "{msg}");
    let (_, msg) = error(&format!("{detach}{detach}"));
    assert!(msg.contains("already detached"), "{msg}");
}
