//! A document an engineer adds: text or an error, never a panic (pdf-extract
//! panics on some files; knowledge::pdf must catch it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = edgewatch::knowledge::pdf::text(bytes);
});
