//! An MQTT message as any publisher may send it, through each payload format:
//! readings or rejections, never a panic.
#![no_main]

use edgewatch::sources::payload::Decoder;
use edgewatch::sources::subscription::SubscriptionConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &[u8])| {
    let (topic, payload) = input;
    for format in ["json", "fields", "number"] {
        let sub: SubscriptionConfig =
            toml::from_str(&format!("topic = \"in/#\"\nformat = \"{format}\"")).expect("config");
        let decoder = Decoder::new(&sub, 256 * 1024, 32);
        let (mut readings, mut rejected) = (Vec::new(), Vec::new());
        decoder.decode(
            topic,
            payload,
            1_795_096_800_000,
            &mut readings,
            &mut rejected,
        );
        assert!(readings.iter().all(|r| r.value.is_finite()));
    }
});
