//! Test helpers: metric handles registered with a `DebuggingRecorder`, and its
//! snapshots as comparable values.

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::CompositeKey;

/// A snapshot value, comparable: counter, gauge, or number of histogram samples.
#[derive(Debug, PartialEq)]
pub(crate) enum V {
    C(u64),
    G(f64),
    H(usize),
}

/// The value of `name` whose labels include every pair of `labels`.
pub(crate) fn value(snap: &[(CompositeKey, V)], name: &str, labels: &[(&str, &str)]) -> V {
    let found = snap.iter().find(|(key, _)| {
        key.key().name() == name
            && labels
                .iter()
                .all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v))
    });
    match found {
        Some((_, V::C(n))) => V::C(*n),
        Some((_, V::G(x))) => V::G(*x),
        Some((_, V::H(n))) => V::H(*n),
        None => panic!("no {name} {labels:?}"),
    }
}

pub(crate) fn snapshot(snapshotter: &Snapshotter) -> Vec<(CompositeKey, V)> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(k, _, _, v)| {
            let v = match v {
                DebugValue::Counter(n) => V::C(n),
                DebugValue::Gauge(x) => V::G(x.0),
                DebugValue::Histogram(samples) => V::H(samples.len()),
            };
            (k, v)
        })
        .collect()
}

pub(crate) fn with_recorder<T>(f: impl FnOnce() -> T) -> (T, Snapshotter) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    (metrics::with_local_recorder(&recorder, f), snapshotter)
}
