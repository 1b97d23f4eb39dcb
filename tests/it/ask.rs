//! Answers on a deterministic plant history (tests/it/ask_plant.rs) through the
//! facts path alone (no model): the real pipeline makes the alerts and aggregates
//! in a real store, each question is read, its facts gathered and its answer
//! written; every question's first sentence is held to facts computed from the
//! generated data.

use crate::ask_plant::{build, cases, grade};
use edgewatch::knowledge::ask::{facts_answer, read_conversation};
use edgewatch::knowledge::timerange::Clock;
use edgewatch::store::Reader;

#[test]
fn every_question_of_the_plant_set_gets_its_facts_in_the_first_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let plant = build(dir.path());
    let reader = Reader::open(dir.path()).unwrap();
    let tz = jiff::tz::TimeZone::fixed(
        jiff::tz::Offset::from_seconds((plant.offset_ms / 1000) as i32).unwrap(),
    );
    let clock = Clock::new(tz, plant.now);
    // The incidents the test bed says happened are the alerts the pipeline raised.
    let alerts = reader.alerts(&Default::default()).unwrap();
    let mut seen: Vec<(String, String)> = alerts
        .iter()
        .map(|a| (a.rule.clone(), plant.hm(a.fired_ms)))
        .collect();
    let mut expected: Vec<(String, String)> = plant
        .incidents
        .iter()
        .map(|i| (i.rule.to_owned(), plant.hm(i.fired)))
        .collect();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected, "the test bed's incidents");

    let set = cases(&plant);
    assert!(set.len() >= 100, "{} questions", set.len());
    let mut wrong = Vec::new();
    for c in &set {
        let previous: Vec<String> = c.after.iter().cloned().collect();
        let query = read_conversation(&c.question, &previous, &clock);
        let answer = facts_answer(&reader, &query, &clock, &plant.chunks).unwrap();
        if std::env::var_os("EDGEWATCH_SHOW_ANSWERS").is_some() {
            eprintln!("Q: {}\nA: {}\n", c.question, answer.text());
        }
        if query.intent.as_str() != c.intent {
            wrong.push(format!(
                "{:?}: read as {}, not {}",
                c.question,
                query.intent.as_str(),
                c.intent
            ));
        } else if let Err(e) = grade(c, &answer) {
            wrong.push(format!("{:?}: {e}", c.question));
        }
    }
    // More questions to look at by hand: EDGEWATCH_ASK_EXTRA=FILE, one a line.
    if let Some(path) = std::env::var_os("EDGEWATCH_ASK_EXTRA") {
        for q in std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let query = read_conversation(q, &[], &clock);
            let answer = facts_answer(&reader, &query, &clock, &plant.chunks).unwrap();
            eprintln!("Q: {q}\n[{}] {}\n", query.intent.as_str(), answer.text());
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        set.len(),
        wrong.join("\n")
    );
}
