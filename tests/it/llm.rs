//! The on-device language model (SmolLM2-135M-Instruct GGUF, fetched by
//! scripts/fetch-models.sh) on edgewatch's int8 llama: tokenizer from the GGUF
//! metadata, agreement with candle's quantized llama, ChatML, greedy and bounded
//! generation.

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
    let prompt = m.chat_prompt(
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
    let long = m.chat_prompt("You are a storyteller.", "Tell a long story about a pump.");
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

/// edgewatch's int8 llama against candle's quantized llama (the reference it
/// replaced) on the same GGUF: the same next token and near-identical logits at
/// every step of a greedy continuation.
#[test]
fn the_int8_llama_agrees_with_candles_quantized_llama() {
    use candle_core::quantized::gguf_file;
    use candle_core::{Device, IndexOp, Tensor};
    use candle_transformers::models::quantized_llama::ModelWeights;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let m = llm();
    let ids = m
        .tokenize(&m.chat_prompt(
            "You answer questions about an industrial plant.",
            "Motor m01 on line 2 ran at 92.3 C last night. What happened?",
        ))
        .unwrap();
    let mut file = std::fs::File::open(&path).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let mut ours = edgewatch::ml::llama::Llama::from_gguf(&content, &mut file).unwrap();
    std::io::Seek::rewind(&mut file).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let mut reference = ModelWeights::from_gguf(content, &mut file, &Device::Cpu).unwrap();

    let argmax = |v: &[f32]| (0..v.len()).max_by(|a, b| v[*a].total_cmp(&v[*b])).unwrap() as u32;
    let cosine = |a: &[f32], b: &[f32]| {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    };
    let mut step: Vec<u32> = ids.clone();
    let mut pos = 0;
    for i in 0..8 {
        let got = ours.forward(&step);
        let input = Tensor::new(step.as_slice(), &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let want: Vec<f32> = reference
            .forward(&input, pos)
            .unwrap()
            .i(0)
            .unwrap()
            .to_vec1()
            .unwrap();
        let c = cosine(&got, &want);
        // Both quantise (Q4_1 with int8 activations there, int8 here): close, not equal.
        assert!(c > 0.99, "step {i}: cosine {c}");
        assert_eq!(argmax(&got), argmax(&want), "step {i}: next token differs");
        pos += step.len();
        step = vec![argmax(&got)];
    }
}

/// A GGUF whose metadata the forward pass cannot run (0 heads here) is refused
/// at load with the file and the reason; it used to divide by zero later, in
/// the thread every question waits on.
#[test]
fn a_gguf_whose_shapes_cannot_run_is_a_load_error_naming_the_file() {
    use candle_core::quantized::gguf_file::{self, Value};
    use edgewatch::ml::chat_template::ChatTemplate;
    use edgewatch::ml::llm::LlmOptions;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.gguf");
    let meta = [
        ("general.architecture", Value::String("llama".into())),
        ("llama.embedding_length", Value::U32(64)),
        ("llama.attention.head_count", Value::U32(0)),
        ("llama.block_count", Value::U32(1)),
        ("llama.feed_forward_length", Value::U32(128)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
    ];
    let refs: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (*k, v)).collect();
    gguf_file::write(&mut std::fs::File::create(&path).unwrap(), &refs, &[]).unwrap();
    let options = LlmOptions {
        template: Some(ChatTemplate::Chatml),
        tokenizer: Some(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-minilm-l6-v2/tokenizer.json"),
        ),
    };
    let e = Llm::load_with(&path, &options).err().unwrap().to_string();
    assert!(e.contains("broken.gguf") && e.contains("above zero"), "{e}");
}
