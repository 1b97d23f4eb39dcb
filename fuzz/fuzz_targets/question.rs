//! A question as anyone with API access may type it, read alone and as a
//! follow-up: a query, never a panic.
#![no_main]

use edgewatch::knowledge::question::parse;
use edgewatch::knowledge::timerange::Clock;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let clock = Clock::new(jiff::tz::TimeZone::UTC, 1_795_096_800_000);
    let first = parse(text, &clock, None);
    let _ = parse(text, &clock, Some(&first));
});
