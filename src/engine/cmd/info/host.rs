//! Facts about the host and the process for INFO, read from /proc where there is
//! one (Linux); elsewhere the fields read as zero or empty.

use std::sync::LazyLock;

/// `Linux 6.1.0 x86_64`, as Redis prints `uname`.
pub(super) fn os() -> &'static str {
    static OS: LazyLock<String> = LazyLock::new(|| {
        let read = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string());
        match (
            read("/proc/sys/kernel/ostype"),
            read("/proc/sys/kernel/osrelease"),
        ) {
            (Ok(kind), Ok(release)) => format!("{kind} {release} {}", std::env::consts::ARCH),
            _ => format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        }
    });
    &OS
}

/// Physical memory in bytes (0 if unknown).
pub(super) fn total_memory() -> u64 {
    static TOTAL: LazyLock<u64> = LazyLock::new(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| kb_field(&text, "MemTotal:"))
            .unwrap_or(0)
    });
    *TOTAL
}

fn kb_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU seconds used: (system, user, children's system, children's user).
pub(super) fn cpu_seconds() -> [f64; 4] {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| parse_stat(&stat))
        .unwrap_or_default()
}

/// Fields 14–17 of /proc/self/stat (utime, stime, cutime, cstime) in seconds,
/// at the kernel's usual 100 ticks per second.
fn parse_stat(stat: &str) -> Option<[f64; 4]> {
    const TICKS_PER_SECOND: f64 = 100.0;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick =
        |i: usize| -> Option<f64> { Some(fields.get(i)?.parse::<f64>().ok()? / TICKS_PER_SECOND) };
    Some([tick(12)?, tick(11)?, tick(14)?, tick(13)?])
}

/// The running executable's path.
pub(super) fn executable() -> String {
    std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_fields() {
        let stat = "21268 (a (b) c) R 1 2 3 0 -1 4194304 100 0 0 0 250 120 7 3 20 0 1 0";
        assert_eq!(parse_stat(stat), Some([1.2, 2.5, 0.03, 0.07]));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn meminfo_field() {
        assert_eq!(
            kb_field("MemTotal:  24684084 kB\n", "MemTotal:"),
            Some(24684084 * 1024)
        );
        assert_eq!(kb_field("", "MemTotal:"), None);
    }
}
