//! The reader and writer against the reference capture written by Debian's sysdig 0.29.3.

use std::io::Write;
use std::path::PathBuf;

use scap::savefile::{Block, FdDetail, Meta, Reader, SavefileError, Writer};

fn reference() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/captures/debian-6.1.0-47-workload.scap")
}

#[derive(Default, Debug, PartialEq)]
struct Census {
    events: usize,
    flagged: usize,
    procs: Vec<(u64, String)>,
    fd_lists: usize,
    files: Vec<String>,
    users: Vec<String>,
    machine: Option<(u32, String)>,
    first_ts: u64,
    last_ts: u64,
}

fn census(mut reader: Reader) -> Result<Census, SavefileError> {
    let mut c = Census::default();
    while let Some(block) = reader.next_block()? {
        match block {
            Block::Event { flags, event, .. } => {
                if c.events == 0 {
                    c.first_ts = event.ts();
                }
                c.last_ts = event.ts();
                c.events += 1;
                c.flagged += usize::from(flags.is_some());
                for i in 0..event.nparams() as usize {
                    if let Some(p) = event.param(i) {
                        p.value()
                            .expect("every parameter of the reference capture decodes");
                    }
                }
            }
            Block::Meta { meta, .. } => match meta {
                Meta::ProcList(procs) => c.procs.extend(procs.into_iter().map(|p| (p.tid, p.comm))),
                Meta::FdList { fds, .. } => {
                    c.fd_lists += 1;
                    for f in fds {
                        if let FdDetail::Named { name, .. } = f.detail {
                            c.files.push(name);
                        }
                    }
                }
                Meta::Users(list) => c.users.extend(list.users.into_iter().map(|u| u.name)),
                Meta::MachineInfo(mi) => c.machine = Some((mi.num_cpus, mi.hostname)),
                _ => {}
            },
        }
    }
    Ok(c)
}

#[test]
fn reads_every_block_of_the_reference_capture() {
    let c = census(Reader::open(&reference()).expect("opens")).expect("reads to the end");
    assert_eq!(c.events, 12480);
    assert_eq!(c.flagged, 0);
    assert_eq!(
        c.procs,
        vec![
            (1, "init".into()),
            (86, "init".into()),
            (87, "sysdig".into()),
            (88, "sleep".into()),
            (90, "timeout".into())
        ]
    );
    assert_eq!(c.fd_lists, 5);
    assert!(
        c.files.iter().any(|f| f == "/dev/scap0"),
        "sysdig's own device is in its fd list: {:?}",
        c.files
    );
    assert!(c.files.iter().any(|f| f == "/out/capture1.scap"));
    assert_eq!(c.users, vec!["root".to_owned()]);
    assert_eq!(c.machine, Some((1, "(none)".to_owned())));
    assert!(c.first_ts < c.last_ts);
}

#[test]
fn gzip_reads_the_same_and_our_writer_round_trips() {
    let plain = census(Reader::open(&reference()).expect("opens")).expect("reads");
    let raw = std::fs::read(reference()).expect("reference");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).expect("compress");
    let zipped = census(Reader::from_bytes(gz.finish().expect("gzip")).expect("opens gzip"))
        .expect("reads gzip");
    assert_eq!(plain, zipped);

    // Everything read, everything written back: the same content, byte for byte after the header.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("copy.scap");
    let mut writer = Writer::create(&out, false).expect("create");
    let mut reader = Reader::open(&reference()).expect("opens");
    while let Some(block) = reader.next_block().expect("reads") {
        writer.write_block(&block).expect("writes");
    }
    writer.finish().expect("finish");
    let copy = std::fs::read(&out).expect("written");
    assert_eq!(copy, raw, "a read-write copy is identical to the original");
    assert!(!dir.path().join(".copy.scap.partial").exists());
}

#[test]
fn truncation_yields_the_good_blocks_then_an_error_with_an_offset() {
    let raw = std::fs::read(reference()).expect("reference");
    let cut = raw[..600_001].to_vec();
    let mut reader = Reader::from_bytes(cut).expect("header is intact");
    let mut events = 0;
    let err = loop {
        match reader.next_block() {
            Ok(Some(Block::Event { .. })) => events += 1,
            Ok(Some(_)) => {}
            Ok(None) => panic!("a truncated file must end with an error"),
            Err(e) => break e,
        }
    };
    assert!(events > 5000, "{events}");
    let SavefileError::Truncated { offset, need, have } = err else {
        panic!("expected Truncated, got {err}")
    };
    assert!(offset < 600_001 && have < need, "{offset} {need} {have}");
    assert!(reader
        .next_block()
        .expect("after an error the reader stays ended")
        .is_none());

    // A truncated gzip stream: the decompressed prefix is read, then the damage is reported.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).expect("compress");
    let zipped = gz.finish().expect("gzip");
    let mut reader = Reader::from_bytes(zipped[..zipped.len() / 2].to_vec()).expect("opens");
    let mut events = 0;
    let err = loop {
        match reader.next_block() {
            Ok(Some(Block::Event { .. })) => events += 1,
            Ok(Some(_)) => {}
            Ok(None) => panic!("a truncated gzip must end with an error"),
            Err(e) => break e,
        }
    };
    assert!(events > 1000, "{events}");
    assert!(
        matches!(
            err,
            SavefileError::Truncated { .. } | SavefileError::Gzip { .. }
        ),
        "{err}"
    );
}

#[test]
fn a_bad_trailer_and_a_foreign_file_are_named_errors() {
    let mut raw = std::fs::read(reference()).expect("reference");
    // The machine-info block is the second block, at offset 28; break its trailer.
    let mi_len = u32::from_le_bytes(raw[32..36].try_into().expect("len")) as usize;
    raw[28 + mi_len - 1] ^= 0xff;
    let mut reader = Reader::from_bytes(raw).expect("header is intact");
    assert!(matches!(
        reader.next_block(),
        Ok(Some(Block::Meta {
            meta: Meta::SectionHeader { major: 1, minor: 2 },
            ..
        }))
    ));
    match reader.next_block() {
        Err(SavefileError::Corrupt { offset: 28, reason }) => {
            assert!(reason.contains("trailer"), "{reason}")
        }
        other => panic!("expected a corrupt block at 28, got {other:?}"),
    }
    match Reader::from_bytes(b"\x7fELF and the rest".to_vec()) {
        Err(SavefileError::NotScap { found: 0x464c_457f }) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("an ELF file is not a capture"),
    }
}
