//! qwen2, qwen3 and gemma3 GGUF files through the same `Llm` as SmolLM2. No such
//! instruction model is packaged in a registry this machine reaches, so each test
//! writes a tiny one with random weights: what is tested is edgewatch's part
//! (architecture dispatch, tokenizer from the metadata, chat template recognised
//! from the GGUF, cached decoding agreeing with a full recomputation, bounds), not
//! the quality of candle's models.

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use edgewatch::ml::chat_template::ChatTemplate;
use edgewatch::ml::llm::{Llm, LlmOptions, Stop};
use std::path::{Path, PathBuf};
use std::time::Duration;

const HIDDEN: usize = 64;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const HEAD_DIM: usize = 16;
const FFN: usize = 128;
const LAYERS: usize = 2;

const CHATML: &str = "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>'}}{% endfor %}";
const GEMMA: &str =
    "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ m['role'] }}{% endfor %}";

/// Byte-level vocabulary (one token per byte, no merges) and the control tokens.
fn vocabulary() -> (Vec<String>, Vec<i32>) {
    let mut tokens: Vec<String> = tokenizers::pre_tokenizers::byte_level::ByteLevel::alphabet()
        .into_iter()
        .map(String::from)
        .collect();
    tokens.sort();
    let mut types = vec![1; tokens.len()];
    for control in [
        "<|im_start|>",
        "<|im_end|>",
        "<|endoftext|>",
        "<bos>",
        "<eos>",
        "<start_of_turn>",
        "<end_of_turn>",
    ] {
        tokens.push(control.into());
        types.push(3);
    }
    (tokens, types)
}

fn weights(shape: &[usize], seed: u64, scale: f32) -> QTensor {
    let mut rng = fastrand::Rng::with_seed(seed);
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| (rng.f32() - 0.5) * 2.0 * scale).collect();
    let t = Tensor::from_vec(data, shape, &Device::Cpu).unwrap();
    QTensor::quantize(&t, GgmlDType::F32).unwrap()
}

fn ones(n: usize) -> QTensor {
    QTensor::quantize(
        &Tensor::ones(n, candle_core::DType::F32, &Device::Cpu).unwrap(),
        GgmlDType::F32,
    )
    .unwrap()
}

/// A two-layer model of `arch` with random weights, in `dir`.
fn tiny_gguf(dir: &Path, arch: &str, tokenizer: &str, template: &str) -> PathBuf {
    let (tokens, types) = vocabulary();
    let vocab = tokens.len();
    let u32v = |v: usize| Value::U32(v as u32);
    let mut meta: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(arch.into())),
        ("general.dtype".into(), Value::U32(0)),
        (
            "tokenizer.ggml.model".into(),
            Value::String(tokenizer.into()),
        ),
        ("tokenizer.ggml.pre".into(), Value::String("qwen2".into())),
        (
            "tokenizer.ggml.tokens".into(),
            Value::Array(tokens.into_iter().map(Value::String).collect()),
        ),
        (
            "tokenizer.ggml.token_type".into(),
            Value::Array(types.into_iter().map(Value::I32).collect()),
        ),
        ("tokenizer.ggml.merges".into(), Value::Array(Vec::new())),
        (
            "tokenizer.chat_template".into(),
            Value::String(template.into()),
        ),
    ];
    for (k, v) in [
        ("attention.head_count", u32v(HEADS)),
        ("attention.head_count_kv", u32v(KV_HEADS)),
        ("attention.key_length", u32v(HEAD_DIM)),
        ("attention.value_length", u32v(HEAD_DIM)),
        ("attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
        ("attention.sliding_window", u32v(64)),
        ("block_count", u32v(LAYERS)),
        ("embedding_length", u32v(HIDDEN)),
        ("feed_forward_length", u32v(FFN)),
        ("context_length", u32v(256)),
        ("rope.freq_base", Value::F32(10_000.0)),
    ] {
        meta.push((format!("{arch}.{k}"), v));
    }
    let mut tensors: Vec<(String, QTensor)> = vec![
        (
            "token_embd.weight".into(),
            weights(&[vocab, HIDDEN], 1, 0.5),
        ),
        ("output_norm.weight".into(), ones(HIDDEN)),
        ("output.weight".into(), weights(&[vocab, HIDDEN], 2, 0.5)),
    ];
    for l in 0..LAYERS {
        let seed = 100 * (l as u64 + 1);
        let p = |name: &str| format!("blk.{l}.{name}");
        let (q, kv) = (HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM);
        tensors.extend([
            (p("attn_norm.weight"), ones(HIDDEN)),
            (p("ffn_norm.weight"), ones(HIDDEN)),
            (p("attn_q.weight"), weights(&[q, HIDDEN], seed + 1, 0.2)),
            (p("attn_k.weight"), weights(&[kv, HIDDEN], seed + 2, 0.2)),
            (p("attn_v.weight"), weights(&[kv, HIDDEN], seed + 3, 0.2)),
            (
                p("attn_output.weight"),
                weights(&[HIDDEN, q], seed + 4, 0.2),
            ),
            (p("ffn_gate.weight"), weights(&[FFN, HIDDEN], seed + 5, 0.2)),
            (p("ffn_up.weight"), weights(&[FFN, HIDDEN], seed + 6, 0.2)),
            (p("ffn_down.weight"), weights(&[HIDDEN, FFN], seed + 7, 0.2)),
        ]);
        match arch {
            "qwen2" => tensors.extend([
                (p("attn_q.bias"), weights(&[q], seed + 8, 0.1)),
                (p("attn_k.bias"), weights(&[kv], seed + 9, 0.1)),
                (p("attn_v.bias"), weights(&[kv], seed + 10, 0.1)),
            ]),
            _ => {
                tensors.push((p("attn_q_norm.weight"), ones(HEAD_DIM)));
                tensors.push((p("attn_k_norm.weight"), ones(HEAD_DIM)));
                if arch == "gemma3" {
                    tensors.push((p("post_attention_norm.weight"), ones(HIDDEN)));
                    tensors.push((p("post_ffw_norm.weight"), ones(HIDDEN)));
                }
            }
        }
    }
    let path = dir.join(format!("tiny-{arch}.gguf"));
    let mut f = std::fs::File::create(&path).unwrap();
    let meta: Vec<(&str, &Value)> = meta.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut f, &meta, &tensors).unwrap();
    path
}

#[test]
fn qwen2_qwen3_and_gemma3_files_load_generate_and_decode_consistently() {
    let dir = tempfile::tempdir().unwrap();
    for (arch, template, expected) in [
        ("qwen2", CHATML, ChatTemplate::Chatml),
        ("qwen3", CHATML, ChatTemplate::Chatml),
        ("gemma3", GEMMA, ChatTemplate::Gemma),
    ] {
        let path = tiny_gguf(dir.path(), arch, "gpt2", template);
        let mut m = Llm::load(&path).unwrap_or_else(|e| panic!("{arch}: {e}"));
        assert_eq!(m.template, expected, "{arch}");
        let prompt = m.chat_prompt("Be brief.", "Pump 3 vibrates at 7.1 mm/s.");
        assert!(prompt.starts_with(match expected {
            ChatTemplate::Gemma => "<bos><start_of_turn>user\nBe brief.",
            _ => "<|im_start|>system\nBe brief.",
        }));
        let ids = m.tokenize(&prompt).unwrap();
        // Control tokens are one token each; the rest one per byte (no merges).
        assert_eq!(
            ids.len(),
            prompt.len()
                - prompt.matches("<|im_start|>").count() * 11
                - prompt.matches("<|im_end|>").count() * 9
                - prompt.matches("<start_of_turn>").count() * 14
                - prompt.matches("<end_of_turn>").count() * 12
                - prompt.matches("<bos>").count() * 4,
            "{arch}: {ids:?}"
        );
        // Greedy and bounded: the same tokens twice, at most 6 of them.
        let a = m
            .generate(&prompt, 6, Duration::from_secs(60), |_| {})
            .unwrap();
        let b = m
            .generate(&prompt, 6, Duration::from_secs(60), |_| {})
            .unwrap();
        assert_eq!(a.text, b.text, "{arch}");
        assert!(
            a.tokens <= 6 && (a.stop == Stop::MaxTokens || a.stop == Stop::End),
            "{arch}: {a:?}"
        );
        assert_eq!(a.prompt_tokens, ids.len());
        assert_consistent_cache(&path, &ids, arch);
    }
}

/// Token by token through the key/value cache gives the logits of a full pass.
fn assert_consistent_cache(path: &Path, ids: &[u32], arch: &str) {
    let mut file = std::fs::File::open(path).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let mut e = edgewatch::ml::engine::Engine::from_gguf(arch, content, &mut file).unwrap();
    let n = ids.len();
    let full = e.forward(ids).unwrap();
    e.clear();
    e.forward(&ids[..n - 2]).unwrap();
    e.forward(&ids[n - 2..n - 1]).unwrap();
    let stepped = e.forward(&ids[n - 1..]).unwrap();
    let worst = full
        .iter()
        .zip(&stepped)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-3, "{arch}: cached decoding differs by {worst}");
}

#[test]
fn what_a_gguf_does_not_say_is_asked_for_by_name() {
    let dir = tempfile::tempdir().unwrap();
    // A template edgewatch does not know: the error names the key; the key fixes it.
    let path = tiny_gguf(dir.path(), "qwen2", "gpt2", "[INST] {{ m }} [/INST]");
    let e = Llm::load(&path).err().expect("unknown template accepted");
    assert!(e.to_string().contains("knowledge.chat-template"), "{e}");
    let options = LlmOptions {
        template: Some(ChatTemplate::Llama3),
        tokenizer: None,
    };
    assert_eq!(
        Llm::load_with(&path, &options).unwrap().template,
        ChatTemplate::Llama3
    );
    // A sentencepiece vocabulary cannot be rebuilt from the metadata: the error
    // names knowledge.tokenizer.
    let path = tiny_gguf(dir.path(), "gemma3", "llama", GEMMA);
    let e = Llm::load(&path)
        .err()
        .expect("sentencepiece vocabulary accepted");
    assert!(e.to_string().contains("knowledge.tokenizer"), "{e}");
    // An architecture candle has no model for.
    let path = tiny_gguf(dir.path(), "phi3", "gpt2", CHATML);
    let e = Llm::load(&path).err().expect("phi3 accepted");
    assert!(e.to_string().contains("llama, qwen2, qwen3, gemma3"), "{e}");
}
