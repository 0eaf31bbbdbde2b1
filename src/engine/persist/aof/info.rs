//! The `aof_*` fields of INFO persistence, named as Redis names them.

use std::sync::atomic::Ordering;

use super::Aof;

impl Aof {
    /// `(name, value)` pairs, in Redis's order.
    pub fn info(&self) -> Vec<(&'static str, String)> {
        let rewrite = self.rewrite.lock().clone();
        let progress = self.progress();
        let mut out = vec![
            ("aof_enabled", u8::from(progress.is_some()).to_string()),
            (
                "aof_rewrite_in_progress",
                u8::from(rewrite.started.is_some()).to_string(),
            ),
            (
                "aof_rewrite_scheduled",
                u8::from(rewrite.scheduled).to_string(),
            ),
            ("aof_last_rewrite_time_sec", rewrite.last_secs.to_string()),
            (
                "aof_current_rewrite_time_sec",
                rewrite
                    .started
                    .map_or(-1, |at| at.elapsed().as_secs() as i64)
                    .to_string(),
            ),
            ("aof_last_bgrewrite_status", status(rewrite.last_ok)),
            ("aof_rewrites", rewrite.count.to_string()),
            (
                "aof_rewrites_consecutive_failures",
                rewrite.failures.to_string(),
            ),
            (
                "aof_last_write_status",
                status(progress.as_ref().is_none_or(|p| p.error.is_none())),
            ),
            ("aof_last_cow_size", "0".into()),
        ];
        if let Some(progress) = progress {
            let base = self.base_size.load(Ordering::Relaxed);
            let incr = self.incr_size.load(Ordering::Relaxed) + progress.file_size;
            out.extend([
                ("aof_current_size", (base + incr).to_string()),
                ("aof_base_size", base.to_string()),
                (
                    "aof_pending_rewrite",
                    u8::from(rewrite.scheduled).to_string(),
                ),
                (
                    "aof_buffer_length",
                    (progress_queued(self) - progress.written).to_string(),
                ),
                ("aof_pending_bio_fsync", "0".into()),
                ("aof_delayed_fsync", "0".into()),
            ]);
        }
        out
    }
}

fn status(ok: bool) -> String {
    if ok { "ok" } else { "err" }.into()
}

fn progress_queued(aof: &Aof) -> u64 {
    aof.writer.get().map_or(0, |w| w.queued())
}
