//! Chat templates: how a conversation becomes the prompt a model was tuned on.
//! A GGUF carries its template as Jinja (`tokenizer.chat_template`); edgewatch
//! recognises the family by its markers rather than running Jinja, and
//! `knowledge.chat-template` overrides it.

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatTemplate {
    /// `<|im_start|>role ... <|im_end|>`: SmolLM2, Qwen2/2.5/3.
    Chatml,
    /// `<start_of_turn>user ... <end_of_turn>`, no system turn: Gemma 2/3.
    Gemma,
    /// `<|start_header_id|>role<|end_header_id|> ... <|eot_id|>`: Llama 3.x.
    Llama3,
}

impl ChatTemplate {
    /// The family of a GGUF's Jinja template, from the markers it writes.
    pub fn detect(jinja: &str) -> Option<ChatTemplate> {
        if jinja.contains("<|im_start|>") {
            Some(ChatTemplate::Chatml)
        } else if jinja.contains("<start_of_turn>") {
            Some(ChatTemplate::Gemma)
        } else if jinja.contains("<|start_header_id|>") {
            Some(ChatTemplate::Llama3)
        } else {
            None
        }
    }

    /// Tokens that end the assistant's turn.
    pub fn stops(self) -> &'static [&'static str] {
        match self {
            ChatTemplate::Chatml => &["<|im_end|>", "<|endoftext|>"],
            ChatTemplate::Gemma => &["<end_of_turn>", "<eos>"],
            ChatTemplate::Llama3 => &["<|eot_id|>", "<|end_of_text|>"],
        }
    }

    /// The markers of this template, each with a harmless spelling: a message that
    /// contains one must not open a turn of its own.
    fn markers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ChatTemplate::Chatml => &[
                ("<|im_start|>", "<im_start>"),
                ("<|im_end|>", "<im_end>"),
                ("<|endoftext|>", "<endoftext>"),
            ],
            ChatTemplate::Gemma => &[
                ("<start_of_turn>", "<start of turn>"),
                ("<end_of_turn>", "<end of turn>"),
                ("<bos>", "<bos >"),
                ("<eos>", "<eos >"),
            ],
            ChatTemplate::Llama3 => &[
                ("<|begin_of_text|>", "<begin_of_text>"),
                ("<|start_header_id|>", "<start_header_id>"),
                ("<|end_header_id|>", "<end_header_id>"),
                ("<|eot_id|>", "<eot_id>"),
                ("<|end_of_text|>", "<end_of_text>"),
            ],
        }
    }

    fn defuse(self, text: &str) -> String {
        self.markers()
            .iter()
            .fold(text.to_owned(), |t, (m, safe)| t.replace(m, safe))
    }

    /// The prompt of a conversation of (role, content) turns, ending where the
    /// assistant speaks next. Roles: `system`, `user`, `assistant`.
    pub fn render(self, messages: &[(&str, &str)]) -> String {
        let mut out = String::new();
        match self {
            ChatTemplate::Chatml => {
                for (role, content) in messages {
                    let content = self.defuse(content);
                    out.push_str(&format!("<|im_start|>{role}\n{content}<|im_end|>\n"));
                }
                out.push_str("<|im_start|>assistant\n");
            }
            ChatTemplate::Gemma => {
                // No system turn: its text opens the first user turn, as Gemma's
                // own template does.
                out.push_str("<bos>");
                let mut system = String::new();
                for (role, content) in messages {
                    let content = self.defuse(content);
                    match *role {
                        "system" => {
                            system.push_str(&content);
                            system.push_str("\n\n");
                        }
                        "assistant" => {
                            out.push_str(&format!("<start_of_turn>model\n{content}<end_of_turn>\n"))
                        }
                        _ => {
                            let text = format!("{}{content}", std::mem::take(&mut system));
                            out.push_str(&format!("<start_of_turn>user\n{text}<end_of_turn>\n"));
                        }
                    }
                }
                if !system.is_empty() {
                    out.push_str(&format!(
                        "<start_of_turn>user\n{}<end_of_turn>\n",
                        system.trim_end()
                    ));
                }
                out.push_str("<start_of_turn>model\n");
            }
            ChatTemplate::Llama3 => {
                out.push_str("<|begin_of_text|>");
                for (role, content) in messages {
                    let content = self.defuse(content);
                    out.push_str(&format!(
                        "<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>"
                    ));
                }
                out.push_str("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::ChatTemplate::{self, *};

    const TURNS: &[(&str, &str)] = &[
        ("system", "Be brief."),
        ("user", "Hi <|im_end|><end_of_turn><|eot_id|>"),
    ];

    #[test]
    fn each_family_renders_its_turns_and_defuses_markers_in_messages() {
        assert_eq!(
            Chatml.render(TURNS),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi <im_end><end_of_turn><|eot_id|><|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            Gemma.render(TURNS),
            "<bos><start_of_turn>user\nBe brief.\n\nHi <|im_end|><end of turn><|eot_id|><end_of_turn>\n<start_of_turn>model\n"
        );
        assert_eq!(
            Llama3.render(TURNS),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi <|im_end|><end_of_turn><eot_id><|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        );
    }

    #[test]
    fn families_are_recognised_from_gguf_jinja() {
        let detect = ChatTemplate::detect;
        assert_eq!(
            detect("{% for message in messages %}{{'<|im_start|>' + message['role']}}"),
            Some(Chatml)
        );
        assert_eq!(
            detect("{{ bos_token }}{% if messages[0]['role'] == 'system' %}<start_of_turn>"),
            Some(Gemma)
        );
        assert_eq!(
            detect("{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"),
            Some(Llama3)
        );
        assert_eq!(detect("[INST] {{ message }} [/INST]"), None);
    }
}
