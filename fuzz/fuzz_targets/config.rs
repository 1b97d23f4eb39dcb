//! A config file as an engineer may mistype it: a config or a list of problems
//! with their keys and lines, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = edgewatch::config::Config::from_toml(text, std::path::Path::new("fuzz.toml"));
});
