//! Inputs from fuzzing the reader (a sample of the minimized corpus, and any that ever crashed): each is
//! read to its end or its first error, every parameter decoded, and nothing may panic.

use scap::savefile::{Block, Reader};

#[test]
fn fuzz_corpus_reads_without_panicking() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut files = 0;
    let mut events = 0;
    let mut errors = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("readable");
        files += 1;
        let Ok(mut reader) = Reader::from_bytes(data) else {
            errors += 1;
            continue;
        };
        loop {
            match reader.next_block() {
                Ok(Some(Block::Event { event, .. })) => {
                    events += 1;
                    for i in 0..event.nparams() as usize {
                        if let Some(p) = event.param(i) {
                            let _ = p.value();
                        }
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    assert!(!e.to_string().is_empty());
                    errors += 1;
                    break;
                }
            }
        }
    }
    assert!(files >= 50, "{files} corpus files");
    assert!(
        events > 0 && errors > 0,
        "the corpus exercises both good events ({events}) and damage ({errors})"
    );
}
