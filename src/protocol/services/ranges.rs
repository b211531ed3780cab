//! Which byte ranges of a file have arrived: sorted, disjoint, end-exclusive. A transfer that
//! gets its bytes in any order (FTP bursts, log data, a download resumed from disk) asks it
//! what is still missing.

/// Byte ranges held, merged; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Ranges(Vec<(u32, u32)>);

impl Ranges {
    /// Ranges from any list of (start, end) pairs (overlapping, unsorted, empty ones dropped).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u32, u32)>) -> Self {
        let mut ranges = Self::default();
        for (start, end) in pairs {
            ranges.insert(start, end);
        }
        ranges
    }

    /// Notes `start..end` as held; how many of its bytes were new.
    pub fn insert(&mut self, start: u32, end: u32) -> u32 {
        if end <= start {
            return 0;
        }
        let before = self.held();
        self.0.push((start, end));
        self.0.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.0.len());
        for &(a, b) in &self.0 {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.0 = merged;
        (self.held() - before) as u32
    }

    /// Bytes held.
    pub fn held(&self) -> u64 {
        self.0.iter().map(|&(a, b)| u64::from(b - a)).sum()
    }

    /// The first range missing before `size`, if any.
    pub fn first_gap(&self, size: u32) -> Option<(u32, u32)> {
        self.gaps(size).next()
    }

    /// Every range missing before `size`, in order.
    pub fn gaps(&self, size: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        let mut at = 0u32;
        let mut held = self.0.iter();
        let mut done = false;
        std::iter::from_fn(move || loop {
            if done || at >= size {
                return None;
            }
            match held.next() {
                Some(&(start, end)) => {
                    let gap = (at, start.min(size));
                    at = at.max(end);
                    if gap.0 < gap.1 {
                        return Some(gap);
                    }
                }
                None => {
                    done = true;
                    return Some((at, size));
                }
            }
        })
    }

    /// Whether every byte before `size` is held.
    pub fn covers(&self, size: u32) -> bool {
        self.first_gap(size).is_none()
    }

    /// Gaps between the ranges held (not the part after the last one).
    pub fn holes(&self) -> usize {
        self.0.len().saturating_sub(usize::from(
            self.0.first().is_some_and(|&(start, _)| start == 0),
        ))
    }

    /// Whether any byte past `offset` is held.
    pub fn holds_past(&self, offset: u32) -> bool {
        self.0.last().is_some_and(|&(_, end)| end > offset)
    }

    /// The ranges, in order.
    pub fn pairs(&self) -> &[(u32, u32)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn holes_are_the_gaps_before_the_last_range() {
        assert_eq!(Ranges::default().holes(), 0);
        assert_eq!(Ranges::from_pairs([(0, 10)]).holes(), 0);
        assert_eq!(Ranges::from_pairs([(5, 10)]).holes(), 1);
        assert_eq!(Ranges::from_pairs([(0, 10), (20, 30), (40, 50)]).holes(), 2);
        assert_eq!(Ranges::from_pairs([(3, 10), (20, 30)]).holes(), 2);
    }

    #[test]
    fn gaps_between_and_after_what_is_held() {
        let mut ranges = Ranges::default();
        assert_eq!(ranges.gaps(10).collect::<Vec<_>>(), vec![(0, 10)]);
        assert_eq!(ranges.insert(2, 4), 2);
        assert_eq!(ranges.insert(3, 6), 2);
        assert_eq!(ranges.insert(8, 9), 1);
        assert_eq!(ranges.insert(2, 6), 0);
        assert_eq!(ranges.pairs(), &[(2, 6), (8, 9)]);
        assert_eq!(
            ranges.gaps(10).collect::<Vec<_>>(),
            vec![(0, 2), (6, 8), (9, 10)]
        );
        assert_eq!(ranges.gaps(7).collect::<Vec<_>>(), vec![(0, 2), (6, 7)]);
        assert!(!ranges.covers(10));
        ranges.insert(0, 10);
        assert!(ranges.covers(10));
        assert_eq!(ranges.held(), 10);
        assert_eq!(ranges.gaps(0).count(), 0);
    }

    proptest! {
        /// Held and missing bytes always add up, whatever order the pieces came in.
        #[test]
        fn held_and_gaps_partition_the_file(
            pieces in proptest::collection::vec((0u32..200, 0u32..40), 0..30),
        ) {
            let size = 180;
            let mut ranges = Ranges::default();
            let mut bytes = vec![false; 240];
            for (start, len) in pieces {
                let end = start + len;
                let fresh = ranges.insert(start, end);
                let before = bytes[start as usize..end as usize].iter().filter(|b| !**b).count();
                prop_assert_eq!(fresh as usize, before);
                bytes[start as usize..end as usize].iter_mut().for_each(|b| *b = true);
            }
            let missing: u32 = ranges.gaps(size).map(|(a, b)| b - a).sum();
            let expected = bytes[..size as usize].iter().filter(|b| !**b).count();
            prop_assert_eq!(missing as usize, expected);
            prop_assert_eq!(ranges.covers(size), expected == 0);
        }
    }
}
