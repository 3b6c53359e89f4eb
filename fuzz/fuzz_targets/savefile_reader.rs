//! Arbitrary bytes as a capture file: every block is read and every parameter of every event decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scap::savefile::{Block, Reader};

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = Reader::from_bytes(data.to_vec()) else { return };
    while let Ok(Some(block)) = reader.next_block() {
        if let Block::Event { event, .. } = block {
            for i in 0..event.nparams() as usize {
                if let Some(p) = event.param(i) {
                    let _ = p.value();
                }
            }
        }
    }
});
