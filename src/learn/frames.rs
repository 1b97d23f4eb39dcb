//! Readings of the sensors that make an asset, aligned into frames: one value per
//! channel at one time. A frame is complete once every channel has a value newer
//! than the last frame's time, so synchronous channels make one frame per sample
//! and slower channels set the pace; a channel silent for longer than the gap
//! limit holds frames back instead of repeating a stale value.

/// Aligns one asset's readings; channels are indexed by the caller.
#[derive(Debug, Clone)]
pub struct Framer {
    latest: Vec<Option<(i64, f64)>>,
    last_frame_ms: i64,
}

/// A complete frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub ts_ms: i64,
    pub values: Vec<f64>,
}

impl Framer {
    pub fn new(channels: usize) -> Self {
        Framer {
            latest: vec![None; channels],
            last_frame_ms: i64::MIN,
        }
    }

    /// Time of the last complete frame, if any.
    pub fn last_frame_ms(&self) -> Option<i64> {
        (self.last_frame_ms != i64::MIN).then_some(self.last_frame_ms)
    }

    /// Takes a channel's value; returns the frame it completes. A channel index
    /// out of range is ignored.
    pub fn push(&mut self, channel: usize, ts_ms: i64, value: f64) -> Option<Frame> {
        *self.latest.get_mut(channel)? = Some((ts_ms, value));
        let mut ts = i64::MIN;
        for v in &self.latest {
            let (t, _) = (*v)?;
            if t <= self.last_frame_ms {
                return None;
            }
            ts = ts.max(t);
        }
        self.last_frame_ms = ts;
        Some(Frame {
            ts_ms: ts,
            values: self
                .latest
                .iter()
                .map(|v| v.map_or(0.0, |(_, x)| x))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synchronous_channels_make_one_frame_per_sample() {
        let mut f = Framer::new(2);
        assert_eq!(f.push(0, 1000, 1.0), None);
        assert_eq!(
            f.push(1, 1000, 2.0),
            Some(Frame {
                ts_ms: 1000,
                values: vec![1.0, 2.0]
            })
        );
        // A second value of the same channel before the other: replaces, no frame.
        assert_eq!(f.push(0, 2000, 3.0), None);
        assert_eq!(f.push(0, 2500, 4.0), None);
        let frame = f.push(1, 2600, 5.0).unwrap();
        assert_eq!((frame.ts_ms, frame.values), (2600, vec![4.0, 5.0]));
        assert_eq!(f.push(7, 3000, 1.0), None);
    }

    #[test]
    fn a_silent_channel_holds_frames_back() {
        let mut f = Framer::new(2);
        f.push(0, 1000, 1.0);
        f.push(1, 1000, 1.0).unwrap();
        for t in 2..10 {
            assert_eq!(f.push(0, t * 1000, 1.0), None);
        }
        assert_eq!(f.last_frame_ms(), Some(1000));
    }
}
