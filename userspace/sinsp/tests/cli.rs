//! The `sinsp` command line: writing captures sysdig reads, damaged input, bad filters.

use std::path::PathBuf;
use std::process::{Command, Output};

fn reference() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/captures/debian-6.1.0-47-workload.scap")
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"))
}

fn sinsp(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_sinsp"), args)
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A file written by `sinsp -w` reads the same in Debian's sysdig as in sinsp.
#[test]
fn written_files_read_the_same_in_sysdig() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reference = reference();
    for (name, filter, compress) in [
        ("all.scap", None, false),
        ("opens.scap", Some("evt.type=openat"), false),
        ("workload.scap.gz", Some("proc.name=workload"), true),
    ] {
        let out = dir.path().join(name);
        let mut args = vec!["-r", path(&reference), "-w", path(&out)];
        if compress {
            args.push("-z");
        }
        args.extend(filter);
        let w = sinsp(&args);
        assert!(
            w.status.success(),
            "sinsp -w failed: {}",
            String::from_utf8_lossy(&w.stderr)
        );
        assert!(w.stdout.is_empty(), "-w without -p prints nothing");
        let ours = sinsp(&["-r", path(&out)]);
        let theirs = run("sysdig", &["-r", path(&out)]);
        assert!(
            theirs.status.success(),
            "sysdig cannot read {name}: {}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        assert_eq!(
            text(&ours),
            text(&theirs),
            "{name}: sinsp and sysdig disagree on the file sinsp wrote"
        );
        let lines = text(&ours).lines().count();
        match filter {
            None => assert_eq!(lines, 10936),
            Some("evt.type=openat") => assert_eq!(lines, 302),
            Some(_) => assert!(lines > 1000, "{lines}"),
        }
    }
}

#[test]
fn truncated_file_prints_the_events_before_the_damage_then_fails() {
    let data = std::fs::read(reference()).expect("reference capture");
    let dir = tempfile::tempdir().expect("tempdir");
    let cut = dir.path().join("cut.scap");
    std::fs::write(&cut, &data[..500_000]).expect("write");
    let o = sinsp(&["-r", path(&cut)]);
    assert_eq!(o.status.code(), Some(1));
    let printed = text(&o).lines().count();
    let full = text(&sinsp(&["-r", path(&reference())]));
    assert!(
        printed > 4000,
        "events before the damage are printed ({printed})"
    );
    assert!(
        full.starts_with(&text(&o)),
        "what is printed is exactly the start of the full output"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cut.scap") && err.contains("truncated block at offset"),
        "{err}"
    );
}

#[test]
fn corrupted_block_length_is_reported_with_its_offset() {
    let mut data = std::fs::read(reference()).expect("reference capture");
    // Find the 1000th event block and break its length field.
    let mut off = 0usize;
    let mut events = 0;
    while off < data.len() {
        let btype = u32::from_le_bytes(data[off..off + 4].try_into().expect("4 bytes"));
        let blen = u32::from_le_bytes(data[off + 4..off + 8].try_into().expect("4 bytes")) as usize;
        if btype == 0x216 {
            events += 1;
            if events == 1000 {
                break;
            }
        }
        off += blen;
    }
    data[off + 4] ^= 0x40;
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.scap");
    std::fs::write(&bad, &data).expect("write");
    let o = sinsp(&["-r", path(&bad)]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("at offset {off}")),
        "the error names offset {off}: {err}"
    );
    // Events before the damaged block (999 of them, plus hidden internal ones) were processed.
    assert!(text(&o).lines().count() > 800);
}

#[test]
fn not_a_capture_and_missing_file_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.scap");
    std::fs::write(&junk, b"hello, this is not a capture").expect("write");
    let o = sinsp(&["-r", path(&junk)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a scap capture"));
    let o = sinsp(&["-r", "/nonexistent/x.scap"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read /nonexistent/x.scap"));
}

#[test]
fn bad_filter_points_at_the_column() {
    let o = sinsp(&["-r", path(&reference()), "proc.name=init and"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("filter error at column 19"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn lists_fields() {
    let o = sinsp(&["-l"]);
    assert!(o.status.success());
    let t = text(&o);
    for field in [
        "evt.type",
        "proc.name",
        "fd.name",
        "thread.tid",
        "user.name",
        "proc.aname[...]",
    ] {
        assert!(t.contains(field), "{field} missing from -l");
    }
}
