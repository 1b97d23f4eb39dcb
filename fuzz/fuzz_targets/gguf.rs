//! A model file that is damaged or made up: a load error, never a panic, and no
//! allocation sized by a header field alone.
#![no_main]

use candle_core::quantized::gguf_file::Content;
use edgewatch::ml::llama::Llama;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|bytes: &[u8]| {
    let mut file = Cursor::new(bytes);
    if let Ok(content) = Content::read(&mut file) {
        let _ = Llama::from_gguf(&content, &mut file);
    }
});
