//! Plant words to sensors, from what the store knows: each sensor id is read into
//! numbered parts (`line2` -> line 2, `m03` -> motor 3), words (stemmed) and the
//! quantity it measures (from its name, labels or unit). A query's assets,
//! quantities and words then select sensors; a named asset that does not exist
//! ("line 7") is reported as missing, never widened to everything.

use super::question::Query;
use super::vocab::{self, Quantity};
use crate::store::reader::SensorRow;

#[derive(Debug, Clone)]
pub struct SensorInfo {
    pub id: String,
    pub unit: Option<String>,
    parts: Vec<(String, u32)>,
    words: Vec<String>,
    pub quantity: Option<Quantity>,
}

impl SensorInfo {
    pub fn new(id: &str, unit: Option<&str>, labels: &serde_json::Value) -> SensorInfo {
        let mut parts = Vec::new();
        let mut words = Vec::new();
        let mut previous: Option<String> = None;
        let mut text = id.to_owned();
        if let Some(map) = labels.as_object() {
            for (k, v) in map {
                if let Some(v) = v.as_str() {
                    // {"line": "2"} reads as "line 2".
                    text.push_str(&format!("/{k} {v}"));
                }
            }
        }
        for segment in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|s| !s.is_empty())
        {
            let seg = segment.to_lowercase();
            // "line2" / "m03" / "motor3": letters, then the number.
            let letters: String = seg.chars().take_while(|c| c.is_alphabetic()).collect();
            let digits = &seg[letters.len()..];
            if let Ok(n) = digits.parse::<u32>() {
                if letters.is_empty() {
                    // "line/2": the number belongs to the word before it.
                    if let Some(p) = &previous {
                        parts.push((vocab::asset_noun(p).to_owned(), n));
                    }
                } else {
                    parts.push((vocab::asset_noun(&letters).to_owned(), n));
                    words.push(vocab::stem(&letters));
                }
                previous = None;
                continue;
            }
            // Words run together with underscores or camel case are split above;
            // a word is kept whole and stemmed.
            words.push(vocab::stem(&seg));
            previous = Some(seg);
        }
        let quantity = words
            .iter()
            .rev()
            .find_map(|w| vocab::quantity_of_word(w).or_else(|| electrical(w)))
            .or_else(|| unit.and_then(vocab::quantity_of_unit));
        SensorInfo {
            id: id.to_owned(),
            unit: unit.map(str::to_owned),
            parts,
            words,
            quantity,
        }
    }

    /// The numbered assets in the id, as text ("line 2", "motor 3").
    pub fn assets(&self) -> Vec<String> {
        self.parts.iter().map(|(p, n)| format!("{p} {n}")).collect()
    }

    fn has_part(&self, noun: &str, n: u32) -> bool {
        self.parts.iter().any(|(p, x)| p == noun && *x == n)
    }

    fn has_noun(&self, noun: &str) -> bool {
        self.parts.iter().any(|(p, _)| p == noun)
    }

    fn has_word(&self, w: &str) -> bool {
        self.words.iter().any(|x| vocab::same_word(x, w))
            || self.parts.iter().any(|(p, _)| vocab::same_word(p, w))
    }
}

/// "current" in an id is the electrical quantity.
fn electrical(w: &str) -> Option<Quantity> {
    matches!(w, "current" | "curr" | "amps").then_some(Quantity::Current)
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub sensors: Vec<SensorInfo>,
}

impl Catalogue {
    pub fn from_rows(rows: &[SensorRow]) -> Catalogue {
        Catalogue {
            sensors: rows
                .iter()
                .map(|r| SensorInfo::new(&r.id, r.unit.as_deref(), &r.labels))
                .collect(),
        }
    }

    /// The numbers known for a noun ("lines 1, 2").
    fn numbers(&self, noun: &str) -> Vec<u32> {
        let mut n: Vec<u32> = self
            .sensors
            .iter()
            .flat_map(|s| s.parts.iter().filter(|(p, _)| p == noun).map(|(_, x)| *x))
            .collect();
        n.sort_unstable();
        n.dedup();
        n
    }

    fn noun_known(&self, noun: &str) -> bool {
        self.sensors.iter().any(|s| s.has_noun(noun))
    }

    /// The asset a sensor belongs to under a noun ("line 2" for any line-2 sensor).
    pub fn asset_of(&self, sensor: &str, noun: &str) -> Option<u32> {
        let s = self.sensors.iter().find(|s| s.id == sensor)?;
        let noun = self.noun_in_use(noun);
        s.parts.iter().find(|(p, _)| *p == noun).map(|(_, n)| *n)
    }

    /// The noun as the ids use it ("machine" where ids say motor).
    pub fn noun_in_use<'a>(&self, noun: &'a str) -> &'a str {
        if self.noun_known(noun) {
            return noun;
        }
        match vocab::asset_alias(noun) {
            Some(alias) if self.noun_known(alias) => alias,
            _ => noun,
        }
    }
}

/// The sensors a question is about.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Sensor ids, sorted.
    pub sensors: Vec<String>,
    /// Whether the question narrowed the plant at all.
    pub narrowed: bool,
    /// What the question named that the plant does not have, as a sentence.
    pub missing: Option<String>,
    /// How the question named its subject ("line 2 motor 3 temperature").
    pub label: String,
    /// The assets of it ("line 2 motor 3").
    pub place: String,
    /// What is measured or named there ("coolant flow", "temperature").
    pub what: String,
    /// Rule names matched by the question's words ("overtemp").
    pub rules: Vec<String>,
}

impl Scope {
    pub fn contains(&self, sensor: &str) -> bool {
        !self.narrowed
            || self
                .sensors
                .binary_search_by(|s| s.as_str().cmp(sensor))
                .is_ok()
    }
}

pub fn resolve(q: &Query, cat: &Catalogue, rules: &[String]) -> Scope {
    let mut selected: Vec<&SensorInfo> = cat.sensors.iter().collect();
    let mut label = Vec::new();
    let mut missing = None;
    // Numbered assets: the same noun twice is either ("line 1 or line 2"),
    // different nouns are both ("line 2 motor 3").
    let mut nouns: Vec<&str> = Vec::new();
    for a in &q.assets {
        if !nouns.contains(&a.noun.as_str()) {
            nouns.push(&a.noun);
        }
    }
    // Wider assets first: "line 2 motor 3", however the question ordered them.
    let rank = |n: &str| {
        ["plant", "area", "hall", "line", "zone", "cell", "station"]
            .iter()
            .position(|x| *x == n)
            .unwrap_or(9)
    };
    nouns.sort_by_key(|n| rank(n));
    for noun in nouns {
        let used = cat.noun_in_use(noun);
        let wanted: Vec<u32> = q
            .assets
            .iter()
            .filter(|a| a.noun == noun)
            .map(|a| a.number)
            .collect();
        let names = wanted
            .iter()
            .map(|n| format!("{noun} {n}"))
            .collect::<Vec<_>>()
            .join(" or ");
        label.push(names.clone());
        if !cat.noun_known(used) {
            // A plant with no numbered "sensor 3": the word may still match by name.
            if missing.is_none() {
                missing = Some(format!(
                    "No sensor here belongs to a {noun} with a number (asked: {names})"
                ));
            }
            selected.clear();
            continue;
        }
        let absent: Vec<u32> = wanted
            .iter()
            .copied()
            .filter(|n| !cat.numbers(used).contains(n))
            .collect();
        if !absent.is_empty() && missing.is_none() {
            let known = cat
                .numbers(used)
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let asked = absent
                .iter()
                .map(|n| format!("{noun} {n}"))
                .collect::<Vec<_>>()
                .join(" or ");
            missing = Some(format!(
                "There is no {asked} in this plant: the {noun}s known are {known}"
            ));
        }
        selected.retain(|s| wanted.iter().any(|n| s.has_part(used, *n)));
    }
    if missing.is_none() && !q.assets.is_empty() && selected.is_empty() {
        missing = Some(format!(
            "No sensor belongs to {} in this plant",
            label.join(" ")
        ));
    }
    let mut matched_rules = Vec::new();
    for w in &q.words {
        // A word no sensor has may name a rule ("overtemp") or nothing here.
        if !cat.sensors.iter().any(|s| s.has_word(w)) {
            for r in rules {
                let hit = r
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|part| vocab::same_word(&vocab::stem(&part.to_lowercase()), w));
                if hit && !matched_rules.contains(r) {
                    matched_rules.push(r.clone());
                }
            }
            continue;
        }
        let before = selected.len();
        let kept: Vec<&SensorInfo> = selected.iter().copied().filter(|s| s.has_word(w)).collect();
        if kept.is_empty() && before > 0 && missing.is_none() {
            let place = if label.is_empty() {
                String::new()
            } else {
                format!(" on {}", label.join(" "))
            };
            missing = Some(format!("No sensor{place} matches \"{w}\""));
        }
        selected = kept;
        label.push(w.clone());
    }
    if !q.quantities.is_empty() {
        let kept: Vec<&SensorInfo> = selected
            .iter()
            .copied()
            .filter(|s| s.quantity.is_some_and(|x| q.quantities.contains(&x)))
            .collect();
        let names: Vec<&str> = q.quantities.iter().map(|x| x.name()).collect();
        if kept.is_empty() && !selected.is_empty() && missing.is_none() {
            let place = if label.is_empty() {
                String::new()
            } else {
                format!(" on {}", label.join(" "))
            };
            missing = Some(format!("No {} sensor is known{place}", names.join(" or ")));
        }
        selected = kept;
        label.push(names.join(" and "));
    }
    let assets_named = q
        .assets
        .iter()
        .map(|a| a.noun.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let place = label[..assets_named.min(label.len())].join(" ");
    let what = label[assets_named.min(label.len())..].join(" ");
    let mut sensors: Vec<String> = selected.iter().map(|s| s.id.clone()).collect();
    sensors.sort();
    Scope {
        narrowed: !label.is_empty(),
        sensors,
        missing,
        label: label.join(" "),
        place,
        what,
        rules: matched_rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::question::parse;
    use crate::knowledge::timerange::Clock;
    use jiff::tz::TimeZone;

    fn plant() -> Catalogue {
        let mut c = Catalogue::default();
        for line in 1..=2 {
            for m in 1..=3 {
                for (q, unit) in [("temperature", "°C"), ("vibration", "mm/s")] {
                    let id = format!("plant1/line{line}/motor/m{m:02}/{q}");
                    c.sensors
                        .push(SensorInfo::new(&id, Some(unit), &serde_json::json!({})));
                }
            }
            let id = format!("plant1/line{line}/cabinet/humidity");
            c.sensors
                .push(SensorInfo::new(&id, Some("%RH"), &serde_json::json!({})));
        }
        c.sensors.push(SensorInfo::new(
            "plant1/line1/coolant/flow",
            Some("l/min"),
            &serde_json::json!({}),
        ));
        c.sensors.push(SensorInfo::new(
            "plant1/line1/pump/p01/pressure",
            Some("bar"),
            &serde_json::json!({}),
        ));
        c
    }

    fn scope(text: &str) -> Scope {
        let q = parse(text, &Clock::new(TimeZone::UTC, 1_795_096_800_000), None);
        resolve(
            &q,
            &plant(),
            &["motor-overtemp".to_owned(), "cabinet-door-open".to_owned()],
        )
    }

    #[test]
    fn plant_words_select_sensors() {
        assert_eq!(
            scope("temperature of line 2 motor 3 right now").sensors,
            ["plant1/line2/motor/m03/temperature"]
        );
        assert_eq!(
            scope("is the electrical cabinet on line 2 OK?").sensors,
            ["plant1/line2/cabinet/humidity"]
        );
        assert_eq!(
            scope("what is the coolant flow").sensors,
            ["plant1/line1/coolant/flow"]
        );
        assert_eq!(scope("humidity").sensors.len(), 2);
        assert_eq!(
            scope("pump pressure on line 1").sensors,
            ["plant1/line1/pump/p01/pressure"]
        );
        assert_eq!(
            scope("which motor overheated").sensors.len(),
            6,
            "every motor temperature"
        );
        assert_eq!(
            scope("machine 2 vibration on line 1").sensors,
            ["plant1/line1/motor/m02/vibration"],
            "machine stands for motor"
        );
        let both = scope("which line had more alerts, line 1 or line 2?");
        assert_eq!(both.sensors.len(), plant().sensors.len());
        assert!(!scope("anything wrong?").narrowed);
    }

    #[test]
    fn what_the_plant_lacks_is_said_not_widened() {
        let s = scope("how many alerts on line 7 today");
        assert!(s.sensors.is_empty());
        assert_eq!(
            s.missing.as_deref(),
            Some("There is no line 7 in this plant: the lines known are 1, 2")
        );
        let s = scope("temperature of motor 9");
        assert!(s.sensors.is_empty() && s.missing.unwrap().contains("motor 9"));
        let s = scope("coolant flow on line 2");
        assert!(
            s.sensors.is_empty() && s.missing.unwrap().contains("coolant"),
            "line 2 has no coolant sensor"
        );
        assert_eq!(scope("how many door alerts").rules, ["cabinet-door-open"]);
    }
}
