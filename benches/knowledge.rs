//! Local knowledge: embedding sentences/s at batch 1 and 32 (candle,
//! all-MiniLM-L6-v2), exact search latency over 10k and 100k vectors
//! (hdrhistogram), and the language model's time to first token and decode speed,
//! with peak RSS. Python references (sentence-transformers, llama.cpp) are run
//! apart: benches/README.md has their figures from the same machine.
//!
//! ./scripts/fetch-models.sh && cargo bench --bench knowledge

mod common;

use edgewatch::knowledge::{Kind, VectorIndex};
use edgewatch::ml::embed::{Embedder, DIM};
use edgewatch::ml::llm::Llm;
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};

fn sentences() -> Vec<String> {
    let rules = [
        "motor-overtemp",
        "bearing-vibration",
        "line-pressure-low",
        "sensor-silent",
        "motor-anomaly",
    ];
    (0..256)
        .map(|i| {
            format!(
                "warning alert {} on plant1/line{}/motor/m{:02}/temperature: value {}.{} is above the limit, check the cooling fan",
                rules[i % rules.len()],
                i % 4 + 1,
                i % 12 + 1,
                60 + i % 40,
                i % 10
            )
        })
        .collect()
}

fn main() {
    println!("edgewatch knowledge bench on {}", common::machine());
    let dir = edgewatch::ml::find_models_dir("all-minilm-l6-v2/config.json")
        .expect("run scripts/fetch-models.sh");
    let e = Embedder::load(&dir.join("all-minilm-l6-v2")).unwrap();
    let texts = sentences();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    e.embed(&refs[..8]).unwrap(); // warm up
    println!("\n| embeddings (256 alert-like sentences) | sentences/s |\n| --- | ---: |");
    for batch in [1usize, 32] {
        let t = Instant::now();
        for chunk in refs.chunks(batch) {
            e.embed(chunk).unwrap();
        }
        println!(
            "| candle, batch {batch} | {:.0} |",
            refs.len() as f64 / t.elapsed().as_secs_f64()
        );
    }

    println!("\n| search (exact cosine, k = 10) | p50 | p99 | max |\n| --- | ---: | ---: | ---: |");
    let mut rng = fastrand::Rng::with_seed(1);
    for n in [10_000usize, 100_000] {
        let mut ix = VectorIndex::default();
        let mut v = vec![0f32; DIM];
        for i in 0..n {
            v.iter_mut().for_each(|x| *x = rng.f32() - 0.5);
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            ix.insert(
                if i % 5 == 0 { Kind::Chunk } else { Kind::Alert },
                i.to_string(),
                &v,
            );
        }
        let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).unwrap();
        for _ in 0..200 {
            v.iter_mut().for_each(|x| *x = rng.f32() - 0.5);
            let t = Instant::now();
            let hits = ix.search(&v, 10, |_| true);
            h.record(t.elapsed().as_micros().max(1) as u64).unwrap();
            assert_eq!(hits.len(), 10);
        }
        println!(
            "| {n} vectors | {:.2} ms | {:.2} ms | {:.2} ms |",
            h.value_at_quantile(0.5) as f64 / 1000.0,
            h.value_at_quantile(0.99) as f64 / 1000.0,
            h.max() as f64 / 1000.0
        );
    }

    let t = Instant::now();
    let mut llm = Llm::load(&dir.join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")).unwrap();
    let load = t.elapsed();
    let prompt = Llm::chat_prompt(
        "You answer questions about an industrial plant. Use only the facts.",
        "FACTS: 3 alerts fired on line 2 last night; motor m01 temperature peaked at 92.3 C (limit 85).\nQUESTION: What happened on line 2 last night? Answer in two sentences.",
    );
    let g = llm
        .generate(&prompt, 64, Duration::from_secs(120), |_| {})
        .unwrap();
    let decode = (g.tokens.saturating_sub(1)) as f64 / (g.total - g.first_token).as_secs_f64();
    println!(
        "\n| language model (SmolLM2-135M-Instruct, Q4_1 re-quantised to Q8_0) | value |\n| --- | ---: |\n\
         | load (with re-quantisation) | {:.2} s |\n| prompt tokens | {} |\n| time to first token | {:.2} s |\n\
         | decode | {:.1} tokens/s ({} tokens) |\n| peak RSS, both models loaded | {:.0} MiB |",
        load.as_secs_f64(),
        g.prompt_tokens,
        g.first_token.as_secs_f64(),
        decode,
        g.tokens,
        common::peak_rss_mib("self")
    );
}
