//! `sinsp -r` against the reference captures written by Debian's sysdig 0.29.3 with the scap kernel
//! module: the `.txt` beside each capture is `sysdig -r FILE`, the `.json` is `sysdig -r FILE -j`.
//! Every line must match.

use std::path::PathBuf;
use std::process::Command;

fn captures_dir() -> PathBuf {
    // shared/ sits beside the repository checkout, in CI as on developer machines.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures")
}

fn sinsp(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sinsp"))
        .args(args)
        .env("TZ", "UTC")
        .output()
        .expect("sinsp runs")
}

fn first_difference(ours: &str, theirs: &str) -> Option<(usize, String, String)> {
    let mut a = ours.lines();
    let mut b = theirs.lines();
    let mut n = 0;
    loop {
        n += 1;
        match (a.next(), b.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                return Some((
                    n,
                    x.unwrap_or("<end>").to_owned(),
                    y.unwrap_or("<end>").to_owned(),
                ))
            }
        }
    }
}

fn assert_same(ours: &str, expected: &str, what: &str) {
    if let Some((line, got, want)) = first_difference(ours, expected) {
        let differing = ours
            .lines()
            .zip(expected.lines())
            .filter(|(a, b)| a != b)
            .count();
        panic!(
            "{what}: {differing} lines differ (line counts {} vs {}); first at line {line}:\n  sinsp:  {got}\n  sysdig: {want}",
            ours.lines().count(),
            expected.lines().count()
        );
    }
}

#[test]
fn default_output_matches_sysdig_line_for_line() {
    let capture = captures_dir().join("debian-6.1.0-47-workload.scap");
    let expected = std::fs::read_to_string(captures_dir().join("debian-6.1.0-47-workload.txt"))
        .expect("reference text");
    let out = sinsp(&["-r", capture.to_str().expect("utf-8 path")]);
    assert!(
        out.status.success(),
        "sinsp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(expected.lines().count(), 10936);
    assert_same(&String::from_utf8_lossy(&out.stdout), &expected, "sinsp -r");
}

#[test]
fn json_output_matches_sysdig_line_for_line() {
    let capture = captures_dir().join("debian-6.1.0-47-workload.scap");
    let expected = std::fs::read_to_string(captures_dir().join("debian-6.1.0-47-workload.json"))
        .expect("reference json");
    let out = sinsp(&["-r", capture.to_str().expect("utf-8 path"), "-j"]);
    assert!(
        out.status.success(),
        "sinsp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same(
        &String::from_utf8_lossy(&out.stdout),
        &expected,
        "sinsp -r -j",
    );
}

fn sysdig(args: &[&str]) -> Option<String> {
    let out = Command::new("sysdig")
        .args(args)
        .env("TZ", "UTC")
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "sysdig {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The same filters and formats through sysdig and sinsp, on the same file.
#[test]
fn filters_and_formats_match_sysdig() {
    let capture = captures_dir().join("debian-6.1.0-47-workload.scap");
    let capture = capture.to_str().expect("utf-8 path");
    let cases: &[&[&str]] = &[
        &["proc.name=workload"],
        &["evt.type in (openat, close, read)"],
        &["fd.name contains /etc"],
        &["evt.type=openat and evt.failed=true"],
        &["not evt.type=switch and thread.tid=92"],
        &[
            "-p",
            "%evt.num %proc.name %fd.name %evt.arg.fd %evt.res",
            "evt.type=close or evt.type=openat",
        ],
        &[
            "-p",
            "*%evt.num %proc.pid %proc.ppid %proc.pname %proc.cmdline",
            "evt.type=execve",
        ],
        &["-n", "7", "evt.dir=<"],
        // The fields Falco's default rules use, on every event but one: on the setsockopt exit, whose
        // enter event carries no fd, sysdig shows an empty fd.name and fd.directory "/"; sinsp shows
        // <NA> (no fd is involved).
        &[
            "-p",
            "*%evt.num %proc.pid %proc.ppid %proc.pname %proc.exe %proc.args %proc.cmdline %proc.exepath \
             %proc.cwd %user.name %user.uid %group.gid %fd.type %fd.filename %fd.name %evt.category %evt.res \
             %evt.rawres %evt.failed %thread.ismain %proc.aname[2] %proc.apid[1] %evt.is_io %evt.is_io_read \
             %evt.is_open_read %fd.l4proto %fd.sockfamily %fd.is_server %proc.vpid %thread.vtid %proc.sid \
             %proc.tty %proc.env %user.loginuid %fd.directory",
            "evt.type!=setsockopt",
        ],
    ];
    let Some(_) = sysdig(&["--version"]) else {
        panic!("Debian's sysdig is the reference and must be installed: run .ci/setup");
    };
    for args in cases {
        let mut full = vec!["-r", capture];
        full.extend_from_slice(args);
        let expected = sysdig(&full).expect("sysdig runs");
        let out = sinsp(&full);
        assert!(
            out.status.success(),
            "sinsp {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !expected.is_empty(),
            "the case {args:?} should select some events"
        );
        assert_same(
            &String::from_utf8_lossy(&out.stdout),
            &expected,
            &format!("{args:?}"),
        );
    }
}
