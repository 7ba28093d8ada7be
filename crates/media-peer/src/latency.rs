//! Latency statistics of received synthetic frames: a log-linear histogram of microseconds
//! (16 buckets per power of two, so a quantile is within ~3 % of the true value, from 0 to
//! ~8.4 s; larger values land in the last bucket). Fixed size, cheap to copy, mergeable
//! across peers and subtractable between two snapshots of the same peer (counts only grow),
//! which is how a load generator gets the latency of a measurement window.

/// Buckets per power of two.
const SUB: u64 = 16;
const SUB_BITS: u32 = 4;
/// Largest power of two (of microseconds) with its own buckets: 2^23 µs ≈ 8.4 s.
const MAX_EXP: u32 = 23;
const BUCKETS: usize = ((MAX_EXP - SUB_BITS + 2) as usize) * SUB as usize;

/// Counts of latencies (µs) in log-linear buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
        }
    }
}

/// The bucket of `us`: exact below 16 µs, then 16 per power of two.
fn bucket(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    let exp = (63 - us.leading_zeros()).min(MAX_EXP);
    if exp == MAX_EXP && us >= 2 << MAX_EXP {
        return BUCKETS - 1;
    }
    let sub = (us >> (exp - SUB_BITS)) & (SUB - 1);
    ((exp - SUB_BITS + 1) as u64 * SUB + sub) as usize
}

/// The lowest and highest microseconds of bucket `i`.
fn bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < SUB {
        return (i, i);
    }
    let exp = u32::try_from(i / SUB).unwrap_or(MAX_EXP) + SUB_BITS - 1;
    let width = 1u64 << (exp - SUB_BITS);
    let low = (1u64 << exp) + (i % SUB) * width;
    (low, low + width - 1)
}

impl Histogram {
    /// Counts one latency.
    pub fn record(&mut self, us: u64) {
        self.counts[bucket(us)] += 1;
        self.total += 1;
    }

    /// Latencies counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Adds another histogram's counts (e.g. of another peer).
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
        self.total += other.total;
    }

    /// What was counted after `earlier`, a previous copy of this histogram.
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let mut out = Histogram::default();
        for (i, (now, then)) in self.counts.iter().zip(earlier.counts.iter()).enumerate() {
            out.counts[i] = now.saturating_sub(*then);
        }
        out.total = out.counts.iter().sum();
        out
    }

    /// The `q` quantile (0.0..=1.0) in microseconds: the middle of the bucket holding it;
    /// `None` when nothing was counted.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (low, high) = bounds(i);
                return Some(low + (high - low) / 2);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_in_a_bucket_whose_bounds_hold_it() {
        for us in (0..5_000).chain([65_535, 65_536, 1 << 22, (1 << 24) - 1]) {
            let (low, high) = bounds(bucket(us));
            assert!(low <= us && us <= high, "{us} in {low}..={high}");
            assert!(
                high - low <= us / 16 + 1,
                "{us}: bucket {low}..={high} too wide"
            );
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_within_the_bucket_precision() {
        let mut h = Histogram::default();
        for us in 1..=10_000 {
            h.record(us);
        }
        let near = |got: u64, want: f64| (got as f64 - want).abs() <= want * 0.035;
        assert!(
            near(h.quantile(0.5).unwrap(), 5_000.0),
            "{:?}",
            h.quantile(0.5)
        );
        assert!(
            near(h.quantile(0.99).unwrap(), 9_900.0),
            "{:?}",
            h.quantile(0.99)
        );
        assert_eq!(h.quantile(0.0), Some(1));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn a_window_is_the_difference_of_two_snapshots_and_peers_merge() {
        let mut peer = Histogram::default();
        for _ in 0..100 {
            peer.record(10_000);
        }
        let before = peer.clone();
        for _ in 0..100 {
            peer.record(10);
        }
        let window = peer.since(&before);
        assert_eq!(window.count(), 100);
        assert_eq!(window.quantile(0.99), Some(10));
        let mut all = window.clone();
        let mut other = Histogram::default();
        other.record(3);
        all.merge(&other);
        assert_eq!(all.count(), 101);
        assert_eq!(all.quantile(0.0), Some(3));
        assert_eq!(all.quantile(1.0), Some(10));
    }
}
