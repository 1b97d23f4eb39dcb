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

const PASSES: usize = 5;

/// Sentences/s of one pass through all texts in chunks of `batch`, after a
/// pause that lets the other engine's idle threads (OpenMP, rayon) stop spinning.
fn rate(texts: &[&str], batch: usize, mut embed: impl FnMut(&[&str])) -> f64 {
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    texts.chunks(batch).for_each(&mut embed);
    texts.len() as f64 / t.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A Python reference engine served one pass per request line, so its passes
/// alternate with ours (the machine's load drifts): benches/embed_reference.py
/// (sentence-transformers) and benches/llm_reference.py (llama.cpp). Runs only
/// when its Python exists: `$python_var`, else the venv at `default`.
struct Reference {
    label: String,
    child: std::process::Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Reference {
    fn start(
        python_var: &str,
        default: &str,
        script: &str,
        arg: &std::path::Path,
    ) -> Option<Reference> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let python = std::env::var(python_var).unwrap_or_else(|_| default.into());
        if !std::path::Path::new(&python).exists() {
            return None;
        }
        let mut child = Command::new(python)
            .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(script))
            .arg(arg)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut lines = std::io::BufReader::new(child.stdout.take()?).lines();
        let label = lines.next()?.ok()?;
        Some(Reference {
            label,
            child,
            lines,
        })
    }

    /// One request line, one answer line, after a pause that lets the other
    /// engine's idle threads (OpenMP, rayon) stop spinning.
    fn ask(&mut self, request: &str) -> Option<String> {
        use std::io::Write;
        std::thread::sleep(Duration::from_millis(500));
        writeln!(self.child.stdin.as_mut()?, "{request}").ok()?;
        self.lines.next()?.ok()
    }

    /// sentence-transformers: sentences/s of one pass at `batch`.
    fn embed_pass(&mut self, batch: usize) -> Option<f64> {
        self.ask(&batch.to_string())?.trim().parse().ok()
    }

    /// llama.cpp: time to first token (s) and decode tokens/s of one generation.
    fn generate_pass(&mut self, prompt: &str, max_tokens: usize) -> Option<(f64, f64)> {
        let req = serde_json::json!({ "prompt": prompt, "max_tokens": max_tokens });
        let r: serde_json::Value = serde_json::from_str(&self.ask(&req.to_string())?).ok()?;
        let (first, total) = (r["first_token_s"].as_f64()?, r["total_s"].as_f64()?);
        let tokens = r["tokens"].as_f64()?;
        Some((first, (tokens - 1.0) / (total - first)))
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The embedding code edgewatch had before its own encoder: candle-transformers'
/// BertModel on padded batches, mean pooling and L2 norm in tensor ops.
mod baseline {
    use candle_core::{DType, Device, Tensor};
    use candle_nn::VarBuilder;
    use candle_transformers::models::bert::{BertModel, Config};
    use tokenizers::{PaddingParams, Tokenizer};

    pub struct Baseline {
        model: BertModel,
        tokenizer: Tokenizer,
    }

    impl Baseline {
        pub fn load(dir: &std::path::Path) -> Baseline {
            let config: Config =
                serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                    .unwrap();
            let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
            tokenizer.with_padding(Some(PaddingParams::default()));
            // SAFETY: read-only map of a file nothing writes during the bench.
            let vb = unsafe {
                VarBuilder::from_mmaped_safetensors(
                    &[dir.join("model.safetensors")],
                    DType::F32,
                    &Device::Cpu,
                )
            }
            .unwrap();
            Baseline {
                model: BertModel::load(vb, &config).unwrap(),
                tokenizer,
            }
        }

        pub fn embed(&self, texts: &[&str]) {
            let enc = self.tokenizer.encode_batch(texts.to_vec(), true).unwrap();
            let (n, len) = (enc.len(), enc[0].get_ids().len());
            let flat = |f: fn(&tokenizers::Encoding) -> &[u32]| -> Tensor {
                let v: Vec<u32> = enc.iter().flat_map(|e| f(e).to_vec()).collect();
                Tensor::from_vec(v, (n, len), &Device::Cpu).unwrap()
            };
            let (ids, mask) = (flat(|e| e.get_ids()), flat(|e| e.get_attention_mask()));
            let hidden = self
                .model
                .forward(&ids, &ids.zeros_like().unwrap(), Some(&mask))
                .unwrap();
            let m = mask.to_dtype(DType::F32).unwrap().unsqueeze(2).unwrap();
            let mean = hidden
                .broadcast_mul(&m)
                .unwrap()
                .sum(1)
                .unwrap()
                .broadcast_div(&m.sum(1).unwrap())
                .unwrap();
            let norm = mean.sqr().unwrap().sum_keepdim(1).unwrap().sqrt().unwrap();
            mean.broadcast_div(&norm).unwrap().to_vec2::<f32>().unwrap();
        }
    }
}

/// The language model code edgewatch had before its own int8 llama: candle's
/// quantized llama on the GGUF as shipped, greedy.
mod baseline_llm {
    use candle_core::quantized::gguf_file;
    use candle_core::{Device, IndexOp, Tensor};
    use candle_transformers::models::quantized_llama::ModelWeights;
    use std::time::Instant;

    pub struct BaselineLlm(ModelWeights);

    impl BaselineLlm {
        pub fn load(path: &std::path::Path) -> BaselineLlm {
            let mut file = std::fs::File::open(path).unwrap();
            let content = gguf_file::Content::read(&mut file).unwrap();
            BaselineLlm(ModelWeights::from_gguf(content, &mut file, &Device::Cpu).unwrap())
        }

        fn next(&mut self, ids: &[u32], pos: usize) -> u32 {
            let input = Tensor::new(ids, &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let logits: Vec<f32> = self
                .0
                .forward(&input, pos)
                .unwrap()
                .i(0)
                .unwrap()
                .to_vec1()
                .unwrap();
            (0..logits.len())
                .max_by(|a, b| logits[*a].total_cmp(&logits[*b]))
                .unwrap() as u32
        }

        /// Time to first token (s) and decode tokens/s over `tokens` tokens.
        pub fn generate(&mut self, prompt: &[u32], tokens: usize) -> (f64, f64) {
            let t = Instant::now();
            let mut next = self.next(prompt, 0);
            let first = t.elapsed();
            for i in 1..tokens {
                next = self.next(&[next], prompt.len() + i - 1);
            }
            let rest = t.elapsed() - first;
            (
                first.as_secs_f64(),
                (tokens - 1) as f64 / rest.as_secs_f64(),
            )
        }
    }
}

fn main() {
    println!("edgewatch knowledge bench on {}", common::machine());
    let dir = edgewatch::ml::find_models_dir("all-minilm-l6-v2/config.json")
        .expect("run scripts/fetch-models.sh");
    let model_dir = dir.join("all-minilm-l6-v2");
    let e = Embedder::load(&model_dir).unwrap();
    let baseline = baseline::Baseline::load(&model_dir);
    let texts = sentences();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    e.embed(&refs[..8]).unwrap(); // warm up
    baseline.embed(&refs[..8]);
    let mut python = Reference::start(
        "EDGEWATCH_ST_PYTHON",
        "/var/cache/edgewatch-st/bin/python",
        "benches/embed_reference.py",
        &model_dir,
    );
    println!(
        "\n| embeddings (256 alert-like sentences, median of {PASSES} alternating passes) | batch 1 | batch 32 |\n| --- | ---: | ---: |"
    );
    let mut rates = [[f64::NAN; 2]; 3];
    for (col, batch) in [1, 32].into_iter().enumerate() {
        let mut passes = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..PASSES {
            passes[0].push(rate(&refs, batch, |c| drop(e.embed(c).unwrap())));
            passes[1].push(rate(&refs, batch, |c| baseline.embed(c)));
            if let Some(p) = python.as_mut().and_then(|p| p.embed_pass(batch)) {
                passes[2].push(p);
            }
        }
        for (row, p) in passes.iter_mut().enumerate() {
            rates[row][col] = median(p);
        }
    }
    let [ours, base, py] = rates;
    println!(
        "| edgewatch encoder (candle tensors, fused kernels) | {:.0} | {:.0} |",
        ours[0], ours[1]
    );
    println!(
        "| candle-transformers BertModel, padded batches (baseline) | {:.0} | {:.0} |",
        base[0], base[1]
    );
    println!(
        "| speed-up over the baseline | {:.2}x | {:.2}x |",
        ours[0] / base[0],
        ours[1] / base[1]
    );
    match &python {
        Some(p) => {
            println!("| {} | {:.0} | {:.0} |", p.label, py[0], py[1]);
            println!(
                "| edgewatch / sentence-transformers | {:.2}x | {:.2}x |",
                ours[0] / py[0],
                ours[1] / py[1]
            );
        }
        None => {
            println!("| sentence-transformers | not installed (benches/embed_reference.py) | |")
        }
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
    let prompt = llm.chat_prompt(
        "You answer questions about an industrial plant. Use only the facts.",
        "FACTS: 3 alerts fired on line 2 last night; motor m01 temperature peaked at 92.3 C (limit 85).\nQUESTION: What happened on line 2 last night? Answer in two sentences.",
    );
    let model_file = dir.join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let mut reference = Reference::start(
        "EDGEWATCH_LLAMA_PYTHON",
        "/var/cache/edgewatch-llamacpp/bin/python",
        "benches/llm_reference.py",
        &model_file,
    );
    let (mut first, mut decode, mut ref_first, mut ref_decode) = (vec![], vec![], vec![], vec![]);
    let (mut base_first, mut base_decode) = (vec![], vec![]);
    let mut base = baseline_llm::BaselineLlm::load(&model_file);
    let prompt_ids = llm.tokenize(&prompt).unwrap();
    let mut g = None;
    for _ in 0..PASSES {
        std::thread::sleep(Duration::from_millis(500));
        let run = llm
            .generate(&prompt, 64, Duration::from_secs(120), |_| {})
            .unwrap();
        first.push(run.first_token.as_secs_f64());
        decode.push(
            run.tokens.saturating_sub(1) as f64 / (run.total - run.first_token).as_secs_f64(),
        );
        std::thread::sleep(Duration::from_millis(500));
        let (f, d) = base.generate(&prompt_ids, run.tokens.max(2));
        base_first.push(f);
        base_decode.push(d);
        g = Some(run);
        if let Some((f, d)) = reference
            .as_mut()
            .and_then(|r| r.generate_pass(&prompt, 64))
        {
            ref_first.push(f);
            ref_decode.push(d);
        }
    }
    let g = g.unwrap();
    println!(
        "\n| language model, SmolLM2-135M-Instruct, {} prompt tokens, greedy, median of {PASSES} alternating runs | time to first token | decode |\n| --- | ---: | ---: |\n\
         | edgewatch (own int8 llama, weights re-quantised at load) | {:.2} s | {:.1} tokens/s |\n\
         | candle 0.11 quantized llama, Q4_1 as shipped (baseline, same run) | {:.2} s | {:.1} tokens/s |",
        g.prompt_tokens,
        median(&mut first),
        median(&mut decode),
        median(&mut base_first),
        median(&mut base_decode),
    );
    if let Some(r) = &reference {
        let (rf, rd) = (median(&mut ref_first), median(&mut ref_decode));
        println!("| {} | {rf:.2} s | {rd:.1} tokens/s |", r.label);
        println!(
            "| edgewatch / llama.cpp | {:.2}x (time) | {:.2}x |",
            median(&mut first) / rf,
            median(&mut decode) / rd
        );
    } else {
        println!("| llama.cpp | not installed (benches/llm_reference.py) | |");
    }
    println!(
        "\n| language model | value |\n| --- | ---: |\n| load (with re-quantisation) | {:.2} s |\n\
         | tokens generated per run | {} |\n| peak RSS, both models loaded | {:.0} MiB |",
        load.as_secs_f64(),
        g.tokens,
        common::peak_rss_mib("self")
    );
}
