//! The on-device language model (SmolLM2-135M-Instruct GGUF, fetched by
//! scripts/fetch-models.sh) through candle: tokenizer from the GGUF metadata,
//! re-quantised weights, ChatML, greedy and bounded generation.

use edgewatch::ml::llm::{Llm, Stop};
use std::path::Path;
use std::time::Duration;

fn llm() -> Llm {
    Llm::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
    )
    .expect("run scripts/fetch-models.sh")
}

#[test]
fn answers_in_text_reproducibly_and_within_bounds() {
    let mut m = llm();
    let prompt = Llm::chat_prompt(
        "You are a concise assistant.",
        "What is the capital of France? Answer in one word.",
    );
    let mut streamed = String::new();
    let a = m
        .generate(&prompt, 24, Duration::from_secs(60), |t| {
            streamed.push_str(t)
        })
        .unwrap();
    assert!(a.text.contains("Paris"), "{:?}", a.text);
    assert_eq!(streamed, a.text, "streamed pieces add up to the answer");
    assert!(a.prompt_tokens > 10 && a.tokens >= 1);
    // Greedy: the same prompt gives the same answer.
    let b = m
        .generate(&prompt, 24, Duration::from_secs(60), |_| {})
        .unwrap();
    assert_eq!(a.text, b.text);
    // Bounded by tokens and by time.
    let long = Llm::chat_prompt("You are a storyteller.", "Tell a long story about a pump.");
    let c = m
        .generate(&long, 5, Duration::from_secs(60), |_| {})
        .unwrap();
    assert_eq!((c.tokens, c.stop), (5, Stop::MaxTokens));
    let d = m
        .generate(&long, 10_000, Duration::from_millis(1), |_| {})
        .unwrap();
    assert_eq!(d.stop, Stop::TimeLimit);
}

#[test]
fn a_missing_model_names_the_set_up_command() {
    let e = Llm::load(Path::new("/nonexistent/m.gguf"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("scripts/fetch-models.sh"), "{e}");
}
