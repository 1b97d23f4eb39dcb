//! What a sensor id may be, whatever source it came from: it becomes an MQTT topic
//! level upstream, a Prometheus label, a log field and a line in a terminal, so
//! control characters (C0, DEL, C1), Unicode non-characters (U+FDD0..U+FDEF and
//! U+xFFFE/U+xFFFF) and ids longer than [`MAX_LEN`] bytes are refused at the
//! source (counted as `bad_sensor_id`), before anything is stored.

/// Longest sensor id, in bytes: far above any real tag path (OPC UA node ids,
/// `plant/area/line/machine/point`), far below MQTT's 65,535-byte topic limit.
pub const MAX_LEN: usize = 256;

/// Why an id is refused, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadId {
    Empty,
    TooLong,
    Control,
    NonCharacter,
}

pub fn check(id: &str) -> Result<(), BadId> {
    if id.is_empty() {
        return Err(BadId::Empty);
    }
    if id.len() > MAX_LEN {
        return Err(BadId::TooLong);
    }
    for c in id.chars() {
        if c.is_control() {
            return Err(BadId::Control);
        }
        let n = c as u32;
        if (0xFDD0..=0xFDEF).contains(&n) || (n & 0xFFFE) == 0xFFFE {
            return Err(BadId::NonCharacter);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plant_ids_pass_and_hostile_ones_do_not() {
        for ok in [
            "plant1/line2/motor/m03/temperature",
            "Kessel 3 · Vorlauf °C",
            "ns=2;s=Line1.Motor#2",
            "泵/压力",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        assert_eq!(check(""), Err(BadId::Empty));
        assert_eq!(check("esc\u{1b}[31m"), Err(BadId::Control));
        assert_eq!(check("nul\0"), Err(BadId::Control));
        assert_eq!(check("del\u{7f}"), Err(BadId::Control));
        assert_eq!(check("c1\u{85}"), Err(BadId::Control));
        assert_eq!(check("line\nforged"), Err(BadId::Control));
        assert_eq!(check("x\u{ffff}"), Err(BadId::NonCharacter));
        assert_eq!(check("x\u{fdd0}"), Err(BadId::NonCharacter));
        assert_eq!(check("x\u{1fffe}"), Err(BadId::NonCharacter));
        assert_eq!(check(&"a".repeat(MAX_LEN)), Ok(()));
        assert_eq!(check(&"a".repeat(12 * 1024)), Err(BadId::TooLong));
    }
}
