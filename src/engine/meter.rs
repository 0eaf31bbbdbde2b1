//! Instantaneous rates for INFO (`instantaneous_ops_per_sec`, `…_kbps`), measured
//! as Redis measures them: every [`SAMPLE_PERIOD`] a background task turns the
//! growth of a counter into a per-second rate and stores it in a ring of
//! [`SAMPLES`]; the reported rate is the ring's mean.

use parking_lot::Mutex;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::server::Shared;

/// Rates kept per series.
pub const SAMPLES: usize = 16;
/// How often a sample is taken.
pub const SAMPLE_PERIOD: Duration = Duration::from_millis(100);

/// One counter's recent per-second rates.
#[derive(Debug, Default, Clone)]
pub struct Series {
    rates: [u64; SAMPLES],
    next: usize,
    last: Option<(u64, Instant)>,
}

impl Series {
    /// Records the counter's current `value` at time `now`.
    pub fn record(&mut self, value: u64, now: Instant) {
        if let Some((last_value, last_time)) = self.last {
            let ms = now.duration_since(last_time).as_millis() as u64;
            if let Some(rate) = (value.saturating_sub(last_value) * 1000).checked_div(ms) {
                self.rates[self.next] = rate;
                self.next = (self.next + 1) % SAMPLES;
            }
        }
        self.last = Some((value, now));
    }

    /// The mean of the ring, per second.
    pub fn per_second(&self) -> u64 {
        self.rates.iter().sum::<u64>() / SAMPLES as u64
    }
}

/// The series INFO reports.
#[derive(Debug, Default)]
pub struct Meter {
    /// Commands processed.
    pub commands: Series,
    /// Bytes read from clients.
    pub net_input: Series,
    /// Bytes written to clients.
    pub net_output: Series,
}

/// Samples the engine's counters every [`SAMPLE_PERIOD`] until aborted.
pub async fn run(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(SAMPLE_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        sample(&shared.meter, &shared);
    }
}

fn sample(meter: &Mutex<Meter>, shared: &Shared) {
    let commands = shared.ks.lock().stats.total_commands;
    let input = shared.net_input_bytes.load(Ordering::Relaxed);
    let output = shared.net_output_bytes.load(Ordering::Relaxed);
    let now = Instant::now();
    let mut meter = meter.lock();
    meter.commands.record(commands, now);
    meter.net_input.record(input, now);
    meter.net_output.record(output, now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_the_mean_of_the_ring() {
        let mut series = Series::default();
        let start = Instant::now();
        series.record(0, start);
        assert_eq!(series.per_second(), 0);
        // 100 more every 100 ms = 1000/s, over the whole ring.
        for i in 1..=SAMPLES as u64 {
            series.record(i * 100, start + Duration::from_millis(i * 100));
        }
        assert_eq!(series.per_second(), 1000);
        // Half the ring idle: half the rate.
        let base = SAMPLES as u64;
        for i in 1..=(SAMPLES / 2) as u64 {
            series.record(base * 100, start + Duration::from_millis((base + i) * 100));
        }
        assert_eq!(series.per_second(), 500);
    }

    #[test]
    fn a_counter_reset_is_not_a_huge_rate() {
        let mut series = Series::default();
        let start = Instant::now();
        series.record(1000, start);
        series.record(0, start + Duration::from_millis(100));
        assert_eq!(series.per_second(), 0);
    }
}
