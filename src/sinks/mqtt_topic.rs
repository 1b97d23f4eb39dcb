//! What makes an MQTT publish valid before it is handed to the client: a topic
//! built from a template by the MQTT rules (no wildcards, no NUL or control
//! characters, at most 65,535 bytes) and a packet within the configured size.
//! A publish that breaks them would make the broker drop the connection every
//! time it is sent; it goes to the dead letters instead.

/// MQTT's remaining-length field ends at 268,435,455 bytes.
pub const MAX_PACKET: u64 = 268_435_455;
const MAX_TOPIC: usize = 65_535;

/// Why an item cannot be published at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsendable {
    #[error("its topic is {0} bytes, over MQTT's 65,535")]
    TopicTooLong(usize),
    #[error("its topic is empty")]
    EmptyTopic,
    #[error("it is a {size}-byte packet, over max-packet-size ({max} bytes)")]
    TooLarge { size: usize, max: usize },
}

/// A value put into a topic: wildcards and characters MQTT forbids or advises
/// against in topics become `_` (`/` stays: a sensor id's levels are topic levels).
pub fn clean_level(s: &str) -> String {
    s.chars()
        .map(|c| {
            let bad = matches!(c, '+' | '#')
                || c.is_control()
                || matches!(c as u32, 0xFDD0..=0xFDEF)
                || (c as u32 & 0xFFFE) == 0xFFFE;
            if bad {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Checks a rendered topic and the packet it makes with `payload_len` bytes.
pub fn check(topic: &str, payload_len: usize, max_packet: usize) -> Result<(), Unsendable> {
    if topic.is_empty() {
        return Err(Unsendable::EmptyTopic);
    }
    if topic.len() > MAX_TOPIC {
        return Err(Unsendable::TopicTooLong(topic.len()));
    }
    let size = publish_size(topic.len(), payload_len);
    if size > max_packet {
        return Err(Unsendable::TooLarge {
            size,
            max: max_packet,
        });
    }
    Ok(())
}

/// Bytes of a QoS 1 PUBLISH: fixed header, topic with its length, packet id, payload.
fn publish_size(topic: usize, payload: usize) -> usize {
    let remaining = 2 + topic + 2 + payload;
    let length_bytes = match remaining {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    };
    1 + length_bytes + remaining
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_lose_wildcards_separators_and_control_characters() {
        // `/` stays: a sensor id's levels become topic levels.
        assert_eq!(clean_level("a+b#c/d"), "a_b_c/d");
        assert_eq!(clean_level("esc\u{1b}[31m"), "esc_[31m");
        assert_eq!(clean_level("nul\0del\u{7f}c1\u{85}"), "nul_del_c1_");
        assert_eq!(clean_level("x\u{FFFF}y\u{FDD0}"), "x_y_");
        assert_eq!(clean_level("Motor 3 °C ü"), "Motor 3 °C ü");
    }

    #[test]
    fn packet_size_counts_every_header_byte() {
        // 1 fixed + 1 length + (2 + 1 topic + 2 pkid + 0 payload) = 7.
        assert_eq!(publish_size(1, 0), 7);
        assert_eq!(publish_size(1, 123), 1 + 2 + 128);
        assert_eq!(publish_size(1, 122), 1 + 1 + 127);
        assert!(check("t", 1000, 1007 + 5).is_ok());
        assert_eq!(
            check("t", 1000, 1000),
            Err(Unsendable::TooLarge {
                size: 1008,
                max: 1000
            })
        );
    }

    #[test]
    fn topics_must_be_non_empty_and_within_the_mqtt_limit() {
        assert_eq!(check("", 1, 1 << 20), Err(Unsendable::EmptyTopic));
        let long = "a".repeat(65_536);
        assert_eq!(
            check(&long, 1, 1 << 20),
            Err(Unsendable::TopicTooLong(65_536))
        );
        assert!(check(&long[1..], 1, 1 << 20).is_ok());
    }
}
