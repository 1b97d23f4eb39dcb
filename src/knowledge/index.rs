//! Exact cosine search over unit vectors held in memory: at gateway scale (100k
//! vectors of 384) a full scan is a few milliseconds and needs no approximate index.

use crate::ml::embed::DIM;
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Alert,
    Chunk,
    Summary,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Alert => crate::store::knowledge::KIND_ALERT,
            Kind::Chunk => crate::store::knowledge::KIND_CHUNK,
            Kind::Summary => crate::store::knowledge::KIND_SUMMARY,
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "alert" | "alerts" => Some(Kind::Alert),
            "chunk" | "document" | "documents" => Some(Kind::Chunk),
            "summary" | "summaries" | "aggregates" => Some(Kind::Summary),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub kind: Kind,
    pub reference: String,
    pub score: f32,
}

#[derive(Debug, Default)]
pub struct VectorIndex {
    kinds: Vec<Kind>,
    refs: Vec<String>,
    data: Vec<f32>,
    position: HashMap<(Kind, String), usize>,
}

impl VectorIndex {
    pub fn len(&self) -> usize {
        self.refs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }

    /// Adds or replaces a vector; vectors of the wrong size are ignored.
    pub fn insert(&mut self, kind: Kind, reference: String, vector: &[f32]) {
        if vector.len() != DIM {
            return;
        }
        match self.position.get(&(kind, reference.clone())) {
            Some(&i) => self.data[i * DIM..(i + 1) * DIM].copy_from_slice(vector),
            None => {
                self.position
                    .insert((kind, reference.clone()), self.refs.len());
                self.kinds.push(kind);
                self.refs.push(reference);
                self.data.extend_from_slice(vector);
            }
        }
    }

    /// Drops vectors (a deleted document's chunks); swaps the last one in.
    pub fn remove(&mut self, kind: Kind, reference: &str) {
        let Some(i) = self.position.remove(&(kind, reference.to_owned())) else {
            return;
        };
        let last = self.refs.len() - 1;
        if i != last {
            let (k, r) = (self.kinds[last], self.refs[last].clone());
            self.data.copy_within(last * DIM..(last + 1) * DIM, i * DIM);
            self.kinds[i] = k;
            self.refs[i] = r.clone();
            self.position.insert((k, r), i);
        }
        self.kinds.pop();
        self.refs.pop();
        self.data.truncate(last * DIM);
    }

    /// References of one kind that `pick` selects (summaries past their retention).
    pub fn references(&self, kind: Kind, pick: impl Fn(&str) -> bool) -> Vec<String> {
        self.kinds
            .iter()
            .zip(&self.refs)
            .filter(|(k, r)| **k == kind && pick(r))
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// The `k` nearest vectors of the kinds `want` accepts, best first.
    pub fn search(&self, query: &[f32], k: usize, want: impl Fn(Kind) -> bool) -> Vec<Hit> {
        let mut scored: Vec<(f32, usize)> = self
            .data
            .chunks_exact(DIM)
            .enumerate()
            .filter(|(i, _)| want(self.kinds[*i]))
            .map(|(i, v)| (dot(query, v), i))
            .collect();
        let k = k.min(scored.len());
        if k == 0 {
            return Vec::new();
        }
        scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        scored.truncate(k);
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored
            .into_iter()
            .map(|(score, i)| Hit {
                kind: self.kinds[i],
                reference: self.refs[i].clone(),
                score,
            })
            .collect()
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Four accumulators: the compiler vectorises this; one running sum it cannot.
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(i: usize) -> Vec<f32> {
        let mut v = vec![0.0; DIM];
        v[i] = 1.0;
        v
    }

    #[test]
    fn nearest_first_filtered_by_kind_with_replace_and_remove() {
        let mut ix = VectorIndex::default();
        ix.insert(Kind::Alert, "a1".into(), &unit(0));
        ix.insert(Kind::Chunk, "7".into(), &unit(1));
        let mut near = unit(0);
        near[1] = 0.5;
        ix.insert(Kind::Alert, "a2".into(), &near);
        let q = unit(0);
        let hits = ix.search(&q, 2, |_| true);
        assert_eq!(
            hits.iter()
                .map(|h| h.reference.as_str())
                .collect::<Vec<_>>(),
            ["a1", "a2"]
        );
        assert_eq!(ix.search(&q, 5, |k| k == Kind::Chunk)[0].reference, "7");
        ix.insert(Kind::Alert, "a1".into(), &unit(2));
        assert_eq!(ix.len(), 3, "replaced, not added");
        assert_eq!(ix.search(&q, 1, |_| true)[0].reference, "a2");
        ix.remove(Kind::Alert, "a2");
        assert_eq!(ix.len(), 2);
        assert_eq!(ix.search(&unit(1), 1, |_| true)[0].reference, "7");
        assert!(ix.search(&q, 0, |_| true).is_empty());
    }
}
