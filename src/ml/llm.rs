//! A small language model on the CPU: a GGUF file of the llama family (SmolLM2 by
//! default, run by edgewatch's own int8 llama, [`super::llama`]) or of qwen2,
//! qwen3 or gemma3 (candle-transformers), with its tokenizer built from the GGUF
//! metadata (or a tokenizer.json) and the chat template the model was tuned on.

use super::chat_template::ChatTemplate;
use super::engine::Engine;
use candle_core::quantized::gguf_file;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error(
        "language model {path} not found: run scripts/fetch-models.sh, install edgewatch-models, \
         or set knowledge.llm (answers come from the facts alone meanwhile)"
    )]
    Missing { path: PathBuf },
    #[error("language model {path}: {message}")]
    Load { path: PathBuf, message: String },
    #[error("generation failed: {0}")]
    Run(String),
}

/// What the GGUF file may not say for itself.
#[derive(Debug, Clone, Default)]
pub struct LlmOptions {
    /// Overrides the template recognised from `tokenizer.chat_template`.
    pub template: Option<ChatTemplate>,
    /// A tokenizer.json to use instead of the GGUF's own vocabulary (needed for
    /// sentencepiece vocabularies such as Gemma's).
    pub tokenizer: Option<PathBuf>,
}

pub struct Llm {
    engine: Engine,
    tokenizer: Tokenizer,
    eos: Vec<u32>,
    pub template: ChatTemplate,
    pub name: String,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    End,
    MaxTokens,
    TimeLimit,
}

#[derive(Debug, Clone)]
pub struct Generated {
    pub text: String,
    pub prompt_tokens: usize,
    pub tokens: usize,
    pub first_token: Duration,
    pub total: Duration,
    pub stop: Stop,
}

impl Llm {
    pub fn load(path: &Path) -> Result<Llm, LlmError> {
        Self::load_with(path, &LlmOptions::default())
    }

    pub fn load_with(path: &Path, options: &LlmOptions) -> Result<Llm, LlmError> {
        if !path.is_file() {
            return Err(LlmError::Missing {
                path: path.to_owned(),
            });
        }
        let err = |message: String| LlmError::Load {
            path: path.to_owned(),
            message,
        };
        let mut file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        let content = gguf_file::Content::read(&mut file).map_err(|e| err(e.to_string()))?;
        let text = |key: &str| {
            content
                .metadata
                .get(key)
                .and_then(|v| v.to_string().ok())
                .cloned()
        };
        let arch = text("general.architecture").unwrap_or_default();
        // Before the tokenizer and the template, whose errors would mislead.
        if !super::engine::ARCHITECTURES.contains(&arch.as_str()) {
            return Err(err(super::engine::unsupported(&arch)));
        }
        let template = match options.template {
            Some(t) => t,
            None => text("tokenizer.chat_template")
                .as_deref()
                .and_then(ChatTemplate::detect)
                .ok_or_else(|| {
                    err(
                        "its chat template (tokenizer.chat_template) is not one edgewatch knows: \
                         set knowledge.chat-template to chatml, gemma or llama3"
                            .into(),
                    )
                })?,
        };
        let tokenizer = match &options.tokenizer {
            Some(json) => Tokenizer::from_file(json)
                .map_err(|e| err(format!("tokenizer {}: {e}", json.display())))?,
            None => tokenizer_from_gguf(&content).map_err(err)?,
        };
        let mut eos: Vec<u32> = template
            .stops()
            .iter()
            .filter_map(|t| tokenizer.token_to_id(t))
            .collect();
        if let Some(id) = content
            .metadata
            .get("tokenizer.ggml.eos_token_id")
            .and_then(|v| v.to_u32().ok())
        {
            eos.push(id);
        }
        // candle's loaders assert on shapes: a malformed file must be a load error
        // naming it, never a panic in the thread (and lock) every ask waits on.
        let engine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Engine::from_gguf(&arch, content, &mut file)
        }))
        .map_err(|p| {
            let why = p
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| p.downcast_ref::<&str>().copied())
                .unwrap_or("a malformed tensor");
            err(format!("the model file is malformed ({why})"))
        })?
        .map_err(err)?;
        Ok(Llm {
            engine,
            tokenizer,
            eos,
            template,
            name: path
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
        })
    }

    /// Token ids of `text` (control tokens such as `<|im_start|>` included).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, LlmError> {
        Ok(self
            .tokenizer
            .encode(text, false)
            .map_err(|e| LlmError::Run(e.to_string()))?
            .get_ids()
            .to_vec())
    }

    /// The prompt of a system and a user message in the model's template.
    pub fn chat_prompt(&self, system: &str, user: &str) -> String {
        self.template.render(&[("system", system), ("user", user)])
    }

    /// The prompt of a conversation in the model's template, ending where the
    /// assistant speaks next; a message cannot open a turn of its own.
    pub fn prompt(&self, messages: &[(&str, &str)]) -> String {
        self.template.render(messages)
    }

    /// Greedy decoding (answers must be reproducible) until the end token,
    /// `max_tokens` or `limit`; `on_token` sees each piece of text as it comes.
    pub fn generate(
        &mut self,
        prompt: &str,
        max_tokens: usize,
        limit: Duration,
        mut on_token: impl FnMut(&str),
    ) -> Result<Generated, LlmError> {
        let started = Instant::now();
        let ids = self.tokenize(prompt)?;
        if ids.is_empty() {
            return Err(LlmError::Run("empty prompt".into()));
        }
        let context = self.engine.context();
        if ids.len() >= context {
            return Err(LlmError::Run(format!(
                "prompt of {} tokens does not fit the model's context of {context}: ask with fewer facts or a shorter question",
                ids.len()
            )));
        }
        // The answer stops where the context ends.
        let max_tokens = max_tokens.min(context - ids.len());
        self.engine.clear();
        let mut logits = self.engine.forward(&ids).map_err(LlmError::Run)?;
        let mut out: Vec<u32> = Vec::new();
        let mut first_token = Duration::ZERO;
        let mut shown = 0;
        let stop = loop {
            let next = argmax(&logits);
            if out.is_empty() {
                first_token = started.elapsed();
            }
            if self.eos.contains(&next) {
                break Stop::End;
            }
            out.push(next);
            // Emit only whole characters: a token may end inside a UTF-8 sequence.
            if let Ok(text) = self.tokenizer.decode(&out, true) {
                if text.len() > shown && !text.ends_with('\u{fffd}') {
                    on_token(&text[shown..]);
                    shown = text.len();
                }
            }
            if out.len() >= max_tokens {
                break Stop::MaxTokens;
            }
            if started.elapsed() >= limit {
                break Stop::TimeLimit;
            }
            logits = self.engine.forward(&[next]).map_err(LlmError::Run)?;
        };
        let text = self
            .tokenizer
            .decode(&out, true)
            .map_err(|e| LlmError::Run(e.to_string()))?;
        Ok(Generated {
            text,
            prompt_tokens: ids.len(),
            tokens: out.len(),
            first_token,
            total: started.elapsed(),
            stop,
        })
    }
}

/// The most likely token (greedy: answers must be reproducible); the first on ties.
fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, v) in logits.iter().enumerate() {
        if *v > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// A GPT-2 style byte-level BPE tokenizer from `tokenizer.ggml.*` metadata, split
/// into words as `tokenizer.ggml.pre` says; control tokens are special.
fn tokenizer_from_gguf(c: &gguf_file::Content) -> Result<Tokenizer, String> {
    let get = |k: &str| {
        c.metadata
            .get(k)
            .ok_or_else(|| format!("no {k} in the GGUF metadata"))
    };
    let model = get("tokenizer.ggml.model")?
        .to_string()
        .map_err(|e| e.to_string())?;
    if model != "gpt2" {
        return Err(format!(
            "tokenizer `{model}`: edgewatch builds only gpt2-style (byte-level BPE) tokenizers \
             from GGUF metadata; set knowledge.tokenizer to the model's tokenizer.json"
        ));
    }
    let pre = c
        .metadata
        .get("tokenizer.ggml.pre")
        .and_then(|v| v.to_string().ok())
        .cloned()
        .unwrap_or_default();
    let tokens: Vec<String> = get("tokenizer.ggml.tokens")?
        .to_vec()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|v| v.to_string().cloned().unwrap_or_default())
        .collect();
    let merges: Vec<(String, String)> = get("tokenizer.ggml.merges")?
        .to_vec()
        .map_err(|e| e.to_string())?
        .iter()
        .filter_map(|v| {
            let s = v.to_string().ok()?;
            let (a, b) = s.split_once(' ')?;
            Some((a.to_owned(), b.to_owned()))
        })
        .collect();
    let types: Vec<i32> = c
        .metadata
        .get("tokenizer.ggml.token_type")
        .and_then(|v| v.to_vec().ok())
        .map(|v| v.iter().map(|x| x.to_i32().unwrap_or(1)).collect())
        .unwrap_or_default();
    let vocab: tokenizers::models::bpe::Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| e.to_string())?;
    let mut tok = Tokenizer::new(bpe);
    tok.with_pre_tokenizer(Some(pre_tokenizer(&pre)?));
    tok.with_decoder(Some(ByteLevel::default()));
    // Type 3 = control (<|im_start|>, <|im_end|>, <|endoftext|> ...).
    let special: Vec<AddedToken> = tokens
        .iter()
        .zip(types.iter().chain(std::iter::repeat(&1)))
        .filter(|(_, t)| **t == 3)
        .map(|(s, _)| AddedToken::from(s.clone(), true))
        .collect();
    tok.add_special_tokens(&special);
    Ok(tok)
}

/// Word splitting before BPE, by the `tokenizer.ggml.pre` names llama.cpp uses.
fn pre_tokenizer(pre: &str) -> Result<Sequence, String> {
    // Qwen2 takes digits one by one, Llama 3 up to three at a time.
    const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    let split = |pattern: &str| -> Result<Sequence, String> {
        let split = Split::new(
            SplitPattern::Regex(pattern.into()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| e.to_string())?;
        Ok(Sequence::new(vec![
            split.into(),
            ByteLevel::new(false, true, false).into(),
        ]))
    };
    match pre {
        "qwen2" | "deepseek-llm" => split(QWEN2),
        "llama-bpe" | "llama3" | "smaug-bpe" => split(LLAMA3),
        // SmolLM2 (`smollm`) splits digits one by one before GPT-2's own regex.
        "smollm" => Ok(Sequence::new(vec![
            Digits::new(true).into(),
            ByteLevel::new(false, true, true).into(),
        ])),
        _ => Ok(Sequence::new(
            vec![ByteLevel::new(false, true, true).into()],
        )),
    }
}
