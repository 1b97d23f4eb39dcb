//! Sensor id globs: `*` stays inside one `/` level, `**` spans levels, `?`, `[abc]`.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// A compiled set of globs; matches when any one does. An empty set matches everything.
#[derive(Debug, Clone)]
pub struct SensorGlob {
    set: GlobSet,
    empty: bool,
}

impl SensorGlob {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, globset::Error> {
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            builder.add(compile(p.as_ref())?);
        }
        Ok(SensorGlob {
            set: builder.build()?,
            empty: patterns.is_empty(),
        })
    }

    pub fn is_match(&self, sensor: &str) -> bool {
        self.empty || self.set.is_match(sensor)
    }
}

/// Checks one pattern; `Err` carries globset's explanation.
pub fn compile(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(true).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_stays_in_one_level_and_double_star_spans() {
        let g = SensorGlob::new(&["plant1/*/motor/*/temperature"]).unwrap();
        assert!(g.is_match("plant1/line2/motor/m03/temperature"));
        assert!(!g.is_match("plant1/line2/x/motor/m03/temperature"));
        let g = SensorGlob::new(&["plant1/**/temperature"]).unwrap();
        assert!(g.is_match("plant1/line2/x/motor/m03/temperature"));
        assert!(!g.is_match("plant2/line2/temperature"));
    }

    #[test]
    fn empty_matches_all() {
        let g = SensorGlob::new::<&str>(&[]).unwrap();
        assert!(g.is_match("anything"));
    }
}
