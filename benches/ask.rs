//! Answers on the test bed plant (tests/it/ask_plant.rs: 19 h of a 2-line plant,
//! nine incidents, 120+ questions with expected facts computed from the data):
//! % right per intent on the facts path, its latency p50/p95, and with the
//! language model (when its file is there) how often its rephrasing was used,
//! whether a used rephrasing still held the expected facts, and latency p50/p95.
//! The baseline in the same run is the facts path alone.
//!
//! ./scripts/fetch-models.sh && cargo bench --bench ask

#[path = "../tests/it/ask_plant.rs"]
mod ask_plant;

use ask_plant::{build, cases, grade};
use edgewatch::config::KnowledgeConfig;
use edgewatch::knowledge::ask::{facts_answer, read_conversation, Asker};
use edgewatch::knowledge::timerange::Clock;
use edgewatch::store::Reader;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * q).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let plant = build(dir.path());
    println!(
        "test bed: {} readings of {} sensors, {} incidents, built in {:.1} s",
        plant.series.iter().map(|s| s.points.len()).sum::<usize>(),
        plant.series.len(),
        plant.incidents.len(),
        t.elapsed().as_secs_f64()
    );
    let reader = Reader::open(dir.path()).unwrap();
    let tz = jiff::tz::TimeZone::fixed(
        jiff::tz::Offset::from_seconds((plant.offset_ms / 1000) as i32).unwrap(),
    );
    let clock = Clock::new(tz.clone(), plant.now);
    let set = cases(&plant);
    let mut per_intent: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut facts_ms = Vec::new();
    let mut answers = Vec::new();
    for c in &set {
        let previous: Vec<String> = c.after.iter().cloned().collect();
        let t = Instant::now();
        let query = read_conversation(&c.question, &previous, &clock);
        let a = facts_answer(&reader, &query, &clock, &plant.chunks).unwrap();
        facts_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let right = query.intent.as_str() == c.intent && grade(c, &a).is_ok();
        let e = per_intent.entry(c.intent).or_default();
        e.0 += usize::from(right);
        e.1 += 1;
        answers.push((query, a));
    }
    println!("\nfacts path (no model), {} questions", set.len());
    println!("| intent | right |\n| --- | ---: |");
    let (mut r, mut n) = (0, 0);
    for (intent, (right, all)) in &per_intent {
        println!("| {intent} | {right}/{all} |");
        r += right;
        n += all;
    }
    println!("| all | {r}/{n} ({:.0} %) |", 100.0 * r as f64 / n as f64);
    println!(
        "latency: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        quantile(&mut facts_ms.clone(), 0.5),
        quantile(&mut facts_ms.clone(), 0.95),
        quantile(&mut facts_ms, 1.0)
    );

    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let config = KnowledgeConfig {
        models_dir: models.clone(),
        rephrase: true,
        ..Default::default()
    };
    if !models.join(&config.llm).is_file() {
        println!(
            "\nno language model at {} (scripts/fetch-models.sh): model phrasing not measured",
            models.join(&config.llm).display()
        );
        return;
    }
    let asker = Asker::new(&config, tz);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut used, mut used_right, mut total_ms, mut prompt) = (0, 0, Vec::new(), Vec::new());
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (c, (query, composed)) in set.iter().zip(&answers) {
        let t = Instant::now();
        let a = rt
            .block_on(asker.phrase(&c.question, query, composed, None))
            .unwrap();
        total_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if let Some(g) = &a.generation {
            prompt.push(g.prompt_tokens as f64);
        }
        if a.path == "model" {
            used += 1;
            // The rephrasing, held to the same expected facts as the answer.
            let as_composed = edgewatch::knowledge::answer::Composed {
                sentences: vec![a.answer.clone()],
                facts: composed.facts.clone(),
            };
            used_right += usize::from(grade(c, &as_composed).is_ok());
        } else if let Some(note) = &a.note {
            let why = note
                .split(':')
                .nth(1)
                .unwrap_or(note)
                .trim()
                .split(' ')
                .take(4)
                .collect::<Vec<_>>()
                .join(" ");
            *reasons.entry(why).or_default() += 1;
        }
    }
    println!(
        "\nwith {} rephrasing the facts path's answer",
        config.llm.display()
    );
    println!("rephrasing used: {used}/{} ({:.0} %); of those, holding every expected fact: {used_right}/{used}", set.len(), 100.0 * used as f64 / set.len() as f64);
    println!("invented facts in used answers: 0 by construction (check.rs refuses any number, time or sensor its cited facts lack)");
    println!(
        "prompt tokens: p50 {:.0}, max {:.0}",
        quantile(&mut prompt.clone(), 0.5),
        quantile(&mut prompt, 1.0)
    );
    println!(
        "latency with the model: p50 {:.0} ms, p95 {:.0} ms",
        quantile(&mut total_ms.clone(), 0.5),
        quantile(&mut total_ms, 0.95)
    );
    let mut top: Vec<_> = reasons.into_iter().collect();
    top.sort_by_key(|x| std::cmp::Reverse(x.1));
    for (why, n) in top.iter().take(5) {
        println!("  set aside {n} x: {why} ...");
    }
}
