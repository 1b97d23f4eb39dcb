//! candle embeddings (all-MiniLM-L6-v2, fetched by scripts/fetch-models.sh) against
//! sentence-transformers' vectors of the same sentences (tests/data/, with the
//! script that made them).

use edgewatch::ml::embed::{Embedder, DIM};
use std::path::Path;

fn embedder() -> Embedder {
    Embedder::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-minilm-l6-v2"))
        .expect("run scripts/fetch-models.sh")
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn vectors_match_sentence_transformers() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/embedding-reference.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let cases = reference["sentences"].as_array().unwrap();
    let texts: Vec<&str> = cases.iter().map(|c| c["text"].as_str().unwrap()).collect();
    let e = embedder();
    // Batched (padding to the longest, with the long sentence cut at 256 tokens)
    // and one by one must both match.
    let batched = e.embed(&texts).unwrap();
    for (i, c) in cases.iter().enumerate() {
        let want: Vec<f32> = c["vector"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let alone = e.embed(&[texts[i]]).unwrap().remove(0);
        assert_eq!(alone.len(), DIM);
        for got in [&batched[i], &alone] {
            let cos = dot(got, &want);
            assert!(cos >= 0.999, "{:?}: cosine {cos}", texts[i]);
            assert!((dot(got, got) - 1.0).abs() < 1e-4, "unit length");
        }
    }
    // And they mean something: the runbook question is nearest the runbook line.
    let q = &batched[2];
    let nearest = (0..texts.len())
        .filter(|&i| i != 2)
        .max_by(|&a, &b| dot(q, &batched[a]).total_cmp(&dot(q, &batched[b])))
        .unwrap();
    assert!(texts[nearest].contains("vibration"), "{}", texts[nearest]);
}

#[test]
fn a_missing_model_names_the_set_up_command() {
    let e = Embedder::load(Path::new("/nonexistent/minilm"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("scripts/fetch-models.sh") && e.contains("model.safetensors"),
        "{e}"
    );
}
