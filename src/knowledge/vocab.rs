//! The plant words questions and sensor ids share: word forms folded to a stem
//! ("overheated" -> "overheat"), measured quantities recognised by name, word or
//! unit ("temp", "hot", "°C" -> temperature), and asset nouns with their short
//! forms in ids ("m03" -> motor 3). Pure tables and functions, no store.

/// What a sensor measures, as questions name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quantity {
    Temperature,
    Vibration,
    Pressure,
    Flow,
    Humidity,
    Current,
    Voltage,
    Speed,
    Level,
    Power,
    Energy,
    Up,
}

impl Quantity {
    pub fn name(self) -> &'static str {
        match self {
            Quantity::Temperature => "temperature",
            Quantity::Vibration => "vibration",
            Quantity::Pressure => "pressure",
            Quantity::Flow => "flow",
            Quantity::Humidity => "humidity",
            Quantity::Current => "current",
            Quantity::Voltage => "voltage",
            Quantity::Speed => "speed",
            Quantity::Level => "level",
            Quantity::Power => "power",
            Quantity::Energy => "energy",
            Quantity::Up => "availability",
        }
    }
}

/// The quantity a word names, in any of its usual forms. "current" is not here:
/// whether it means amperes or "now" depends on the words around it.
pub fn quantity_of_word(stem: &str) -> Option<Quantity> {
    use Quantity::*;
    Some(match stem {
        "temperature" | "temp" | "tmp" | "hot" | "hotter" | "hottest" | "heat" | "overheat"
        | "overtemp" | "overtemperature" | "thermal" | "warm" | "warmer" | "cold" | "colder"
        | "coldest" | "degree" => Temperature,
        "vibration" | "vibrat" | "vib" | "vibe" | "shak" | "shake" | "oscillat" => Vibration,
        "pressure" | "press" | "psi" | "leak" => Pressure,
        "flow" | "flowrate" | "throughput" => Flow,
        "humidity" | "humid" | "moisture" | "rh" | "damp" | "condensation" => Humidity,
        "amp" | "amperage" | "ampere" => Current,
        "voltage" | "volt" => Voltage,
        "speed" | "rpm" | "rotation" => Speed,
        "level" | "lvl" | "fill" => Level,
        "power" | "kw" | "load" => Power,
        "energy" | "kwh" | "consumption" => Energy,
        _ => return None,
    })
}

/// The quantity a unit measures (°C, bar, mm/s, %RH ...).
pub fn quantity_of_unit(unit: &str) -> Option<Quantity> {
    use Quantity::*;
    let u = unit.trim().to_ascii_lowercase();
    Some(match u.as_str() {
        "°c" | "degc" | "c" | "°f" | "degf" | "k" | "celsius" => Temperature,
        "bar" | "mbar" | "psi" | "pa" | "kpa" | "mpa" | "hpa" => Pressure,
        "mm/s" | "g" | "m/s2" | "m/s²" | "in/s" => Vibration,
        "%rh" | "% rh" | "rh" => Humidity,
        "l/min" | "lpm" | "m3/h" | "m³/h" | "l/s" | "gpm" | "kg/h" => Flow,
        "a" | "ma" => Current,
        "v" | "kv" | "mv" => Voltage,
        "rpm" | "1/min" | "hz" => Speed,
        "kw" | "w" | "mw" => Power,
        "kwh" | "mwh" | "wh" => Energy,
        _ => return None,
    })
}

/// An asset noun in its canonical form: "m", "mot", "mtr" are a motor in ids;
/// questions say "machine" for the same thing in most plants.
pub fn asset_noun(word: &str) -> &str {
    match word {
        "m" | "mot" | "mtr" | "motor" | "motors" => "motor",
        "l" | "ln" | "line" | "lines" => "line",
        "p" | "pmp" | "pump" | "pumps" => "pump",
        "machine" | "machines" | "mc" | "mach" => "machine",
        "cab" | "cabinet" | "cabinets" => "cabinet",
        "comp" | "compressor" | "compressors" => "compressor",
        "conv" | "conveyor" | "conveyors" => "conveyor",
        "fan" | "fans" => "fan",
        "tank" | "tanks" => "tank",
        "zone" | "zones" => "zone",
        "cell" | "cells" => "cell",
        "station" | "stations" | "st" => "station",
        "unit" | "units" => "unit",
        "press" | "presses" => "press",
        "oven" | "ovens" => "oven",
        "boiler" | "boilers" => "boiler",
        "chiller" | "chillers" => "chiller",
        "robot" | "robots" => "robot",
        "drive" | "drives" => "drive",
        "spindle" | "spindles" => "spindle",
        "plant" | "plants" => "plant",
        "area" | "areas" => "area",
        "hall" | "halls" => "hall",
        "sensor" | "sensors" => "sensor",
        other => other,
    }
}

/// Nouns that name assets in questions, even when no sensor has one by that number.
pub fn is_asset_noun(canonical: &str) -> bool {
    matches!(
        canonical,
        "motor"
            | "line"
            | "pump"
            | "machine"
            | "cabinet"
            | "compressor"
            | "conveyor"
            | "fan"
            | "tank"
            | "zone"
            | "cell"
            | "station"
            | "unit"
            | "press"
            | "oven"
            | "boiler"
            | "chiller"
            | "robot"
            | "drive"
            | "spindle"
            | "plant"
            | "area"
            | "hall"
            | "sensor"
    )
}

/// "Machine" and "motor" stand for each other when a plant has only one of them.
pub fn asset_alias(canonical: &str) -> Option<&'static str> {
    match canonical {
        "machine" => Some("motor"),
        "motor" => Some("machine"),
        _ => None,
    }
}

/// A word folded to a stem: plural and verb endings off ("overheats",
/// "overheated", "overheating" -> "overheat"; "pumps" -> "pump").
pub fn stem(word: &str) -> String {
    let w = word.to_lowercase();
    let irregular = match w.as_str() {
        "ran" | "running" | "runs" => Some("run"),
        "vibrating" | "vibrates" | "vibrated" | "vibrations" | "vibration" => Some("vibration"),
        "shaking" | "shakes" | "shook" => Some("shak"),
        "pressures" => Some("pressure"),
        "temperatures" | "temps" => Some("temperature"),
        "alarms" | "alarm" | "alarming" | "alarmed" | "alerts" | "alert" | "alerted"
        | "alerting" => Some("alert"),
        "warnings" | "warning" | "warn" | "warns" => Some("warning"),
        "readings" | "reading" | "values" | "value" => Some("value"),
        "status" | "states" | "state" => Some("status"),
        "leaks" | "leaking" | "leaked" | "leakage" => Some("leak"),
        "hottest" => Some("hottest"),
        "press" => Some("press"),
        "process" | "gas" | "status quo" | "glass" | "class" | "bus" => Some(w.as_str()),
        _ => None,
    };
    if let Some(s) = irregular {
        return s.to_owned();
    }
    for (suffix, min) in [
        ("ing", 4),
        ("ed", 4),
        ("ies", 3),
        ("es", 4),
        ("s", 3),
        ("ly", 4),
    ] {
        if let Some(base) = w.strip_suffix(suffix) {
            if base.chars().count() >= min {
                return match suffix {
                    "ies" => format!("{base}y"),
                    // "pushes" -> "push", but "cables" -> "cable".
                    "es" if base.ends_with(['s', 'x', 'z'])
                        || base.ends_with("sh")
                        || base.ends_with("ch") =>
                    {
                        base.to_owned()
                    }
                    "es" => format!("{base}e"),
                    _ => base.to_owned(),
                };
            }
        }
    }
    w
}

/// Whether two stems name the same thing: equal, or one begins the other and the
/// shorter has at least four letters ("temp" / "temperature", "humid" / "humidity").
pub fn same_word(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 4 && long.starts_with(short)
}

/// Number words as questions write them ("line two", "the third motor").
pub fn number_word(w: &str) -> Option<u32> {
    Some(match w {
        "one" | "first" => 1,
        "two" | "second" => 2,
        "three" | "third" => 3,
        "four" | "fourth" => 4,
        "five" | "fifth" => 5,
        "six" | "sixth" => 6,
        "seven" | "seventh" => 7,
        "eight" | "eighth" => 8,
        "nine" | "ninth" => 9,
        "ten" | "tenth" => 10,
        "eleven" => 11,
        "twelve" => 12,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_forms_fold_to_one_stem() {
        for w in ["overheat", "overheats", "overheated", "overheating"] {
            assert_eq!(stem(w), "overheat", "{w}");
        }
        assert_eq!(stem("pumps"), "pump");
        assert_eq!(stem("batteries"), "battery");
        assert_eq!(stem("vibrating"), "vibration");
        assert_eq!(stem("cabinets"), "cabinet");
        assert_eq!(stem("pressures"), "pressure");
        assert_eq!(stem("gas"), "gas");
        assert_eq!(
            quantity_of_word(&stem("overheated")),
            Some(Quantity::Temperature)
        );
        assert_eq!(
            quantity_of_word(&stem("humidity")),
            Some(Quantity::Humidity)
        );
        assert!(same_word("temp", "temperature") && same_word("humid", "humidity"));
        assert!(!same_word("m", "motor"));
    }

    #[test]
    fn units_name_quantities() {
        assert_eq!(quantity_of_unit("°C"), Some(Quantity::Temperature));
        assert_eq!(quantity_of_unit("bar"), Some(Quantity::Pressure));
        assert_eq!(quantity_of_unit("%RH"), Some(Quantity::Humidity));
        assert_eq!(quantity_of_unit("l/min"), Some(Quantity::Flow));
        assert_eq!(quantity_of_unit("furlongs"), None);
        assert_eq!(asset_noun("m"), "motor");
        assert_eq!(number_word("third"), Some(3));
    }
}
