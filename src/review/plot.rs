//! Plot data of a stored flight: the whole flight from the index's overview (no file read),
//! and every sample of a time range read from the log through the nearest checkpoint.

use super::index::{FlightIndex, StreamKey};
use super::tlog::{TlogItem, TlogReader};
use crate::protocol::{self, leaves};

/// A field of a stream: its key and the position of the field (see [`super::index::StreamIndex`]).
pub type FieldRef = (StreamKey, usize);

/// Seconds since the flight's first frame.
pub fn seconds(index: &FlightIndex, time_us: u64) -> f64 {
    time_us as f64 * 1e-6 - index.start_us as f64 * 1e-6
}

/// The whole flight of one field from the overview: per bucket, its low and its high value,
/// as (seconds, value) points; empty buckets are left out.
pub fn overview(index: &FlightIndex, field: FieldRef) -> Vec<[f64; 2]> {
    let Some(stream) = index.stream(&field.0) else {
        return Vec::new();
    };
    let (Some(lows), Some(highs)) = (stream.low.get(field.1), stream.high.get(field.1)) else {
        return Vec::new();
    };
    let half = index.bucket_us as f64 * 0.5e-6;
    let mut points = Vec::with_capacity(2 * index.buckets_used());
    for bucket in 0..index.buckets_used() {
        let (low, high) = (lows[bucket], highs[bucket]);
        if low.is_nan() {
            continue;
        }
        let t = seconds(index, index.bucket_time_us(bucket));
        points.push([t, f64::from(low)]);
        if high != low {
            points.push([t + half, f64::from(high)]);
        }
    }
    points
}

/// Every sample of `fields` with a time in `[from_us, to_us]`, per field, as (seconds, value).
/// Reads from the checkpoint before `from_us` to the first frame after `to_us`.
pub fn samples(
    bytes: &[u8],
    index: &FlightIndex,
    fields: &[FieldRef],
    from_us: u64,
    to_us: u64,
) -> Vec<Vec<[f64; 2]>> {
    samples_releasing(bytes, index, fields, (from_us, to_us), &mut |_| {})
}

/// [`samples`], calling `release(upto)` as the read moves on (so that a memory-mapped log's
/// pages behind it can be dropped).
pub fn samples_releasing(
    bytes: &[u8],
    index: &FlightIndex,
    fields: &[FieldRef],
    (from_us, to_us): (u64, u64),
    release: &mut dyn FnMut(usize),
) -> Vec<Vec<[f64; 2]>> {
    let mut out = vec![Vec::new(); fields.len()];
    let start = index
        .checkpoint_before(from_us)
        .map_or(0, |checkpoint| checkpoint.offset);
    let Ok(start) = usize::try_from(start) else {
        return out;
    };
    let mut reader = TlogReader::at(bytes, start.min(bytes.len()));
    let mut pace = super::open::Pace::from(start);
    while let Some(item) = reader.next() {
        if pace.due(reader.position()) {
            release(reader.position());
        }
        let TlogItem::Frame {
            time_us,
            header,
            bytes: frame,
            known: true,
            ..
        } = item
        else {
            continue;
        };
        if time_us > to_us {
            break;
        }
        if time_us < from_us {
            continue;
        }
        let key = StreamKey::of(&header);
        if !fields.iter().any(|(k, _)| *k == key) {
            continue;
        }
        let Ok(message) = protocol::decode(&header, frame) else {
            continue;
        };
        let t = seconds(index, time_us);
        leaves::visit_numbers(&message, &mut |leaf, value| {
            for (slot, wanted) in fields.iter().enumerate() {
                if wanted.0 == key && wanted.1 == leaf {
                    out[slot].push([t, value]);
                }
            }
        });
    }
    out
}

/// Reduces `points` (in time order) to at most about `2 × buckets` points: the lowest and the
/// highest of each run of equally many points, in time order, so that spikes survive. Fewer
/// points than that are kept as they are. Live and whole-flight plots both draw through it.
pub fn decimate(points: impl ExactSizeIterator<Item = [f64; 2]>, buckets: usize) -> Vec<[f64; 2]> {
    let count = points.len();
    if count <= 2 * buckets || buckets == 0 {
        return points.collect();
    }
    let size = count.div_ceil(buckets);
    let mut out = Vec::with_capacity(2 * buckets + 2);
    let mut run: Option<([f64; 2], [f64; 2])> = None;
    for (i, point) in points.enumerate() {
        let (low, high) = run.get_or_insert((point, point));
        if point[1] < low[1] {
            *low = point;
        }
        if point[1] > high[1] {
            *high = point;
        }
        if (i + 1) % size == 0 || i + 1 == count {
            if let Some((low, high)) = run.take() {
                let (first, second) = if low[0] <= high[0] {
                    (low, high)
                } else {
                    (high, low)
                };
                out.push(first);
                if second != first {
                    out.push(second);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimation_keeps_spikes_and_order() {
        let mut points: Vec<[f64; 2]> = (0..10_000).map(|i| [i as f64, 0.0]).collect();
        points[5_000][1] = 100.0;
        points[7_000][1] = -50.0;
        let reduced = decimate(points.iter().copied(), 100);
        assert!(reduced.len() <= 202, "{}", reduced.len());
        assert!(reduced.contains(&[5_000.0, 100.0]));
        assert!(reduced.contains(&[7_000.0, -50.0]));
        assert!(reduced.windows(2).all(|w| w[0][0] <= w[1][0]));
        let few = [[0.0, 1.0], [1.0, 2.0]];
        assert_eq!(decimate(few.iter().copied(), 100), few.to_vec());
    }

    #[test]
    fn samples_of_a_range_match_the_overview() {
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/tlogs/UAVLogViewer_vtol.tlog"),
        )
        .unwrap();
        let index = FlightIndex::build(&bytes);
        let attitude = index.first_stream_of(30).unwrap();
        let roll = (attitude.key, attitude.field("roll").unwrap());
        let all = samples(&bytes, &index, &[roll], index.start_us, index.end_us);
        assert_eq!(all[0].len() as u64, attitude.count);
        let whole = overview(&index, roll);
        let (low, high) = whole
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p[1]), h.max(p[1])));
        let (sample_low, sample_high) = all[0]
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p[1]), h.max(p[1])));
        assert_eq!(
            (low as f32, high as f32),
            (sample_low as f32, sample_high as f32)
        );
        // A middle range holds only samples of that range.
        let from = index.start_us + (index.end_us - index.start_us) / 3;
        let to = from + 10_000_000;
        let part = samples(&bytes, &index, &[roll], from, to);
        assert!(!part[0].is_empty());
        assert!(part[0]
            .iter()
            .all(|p| p[0] >= seconds(&index, from) && p[0] <= seconds(&index, to)));
    }
}
