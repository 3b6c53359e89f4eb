//! Arbitrary bytes as one event: the header, the length array and every parameter decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scap::event::Event;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = Event::parse(data) else { return };
    let _ = (event.ts(), event.tid(), event.info());
    for (info, raw) in event.params() {
        let _ = (info, raw.len());
    }
    for i in 0..event.nparams() as usize {
        if let Some(p) = event.param(i) {
            let _ = p.value();
        }
    }
});
