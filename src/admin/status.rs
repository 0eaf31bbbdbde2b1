//! The status page at `/`. Its HTML, style and script are in `status.html`;
//! this fills in what the process knows when the page is asked for (version,
//! role, uptime, readiness) and lays out each pool: its servers by name and
//! address, and an empty cell for every figure.
//!
//! The figures themselves are the page script's: it reads `/metrics` every
//! two seconds and fills each cell marked `data-field`, so the page shows what
//! Prometheus scrapes, computed in one place. A cell's number goes in its
//! `data-value` (and a counter's per-second rate in `data-rate`), for tests and
//! tools; its text is for people.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Policy;
use crate::proxy::pool::Pool;

/// The page, with `{{name}}` placeholders.
const TEMPLATE: &str = include_str!("status.html");

/// A figure: its `data-field` (what the script fills) and its column heading.
type Figure = (&'static str, &'static str);

/// Figures of every pool.
const POOL_FIGURES: &[Figure] = &[
    ("requests", "requests"),
    ("errors", "errors"),
    ("latency", "mean latency"),
    ("clients", "client connections"),
];

/// Figures of a pool with a `cache:` section.
const CACHE_FIGURES: &[Figure] = &[("hit-rate", "cache hit rate")];

/// Figures of a pool with a write-back rule.
const WRITE_BACK_FIGURES: &[Figure] = &[
    ("pending-writes", "pending writes"),
    ("flush-lag", "write-back lag"),
];

/// Figures of each server.
const SERVER_FIGURES: &[Figure] = &[
    ("state", "state"),
    ("latency", "mean latency"),
    ("requests", "requests"),
    ("errors", "errors"),
    ("connections", "connections"),
];

/// What a cell shows until the script fills it.
const PENDING: &str = "…";

/// The page of a process playing `role`, up for `uptime`, whose readiness
/// reads `ready`, serving `pools`.
pub(super) fn render(role: &str, uptime: Duration, ready: &str, pools: &[Arc<Pool>]) -> String {
    let sections: String = pools.iter().map(|pool| pool_section(pool)).collect();
    fill(
        TEMPLATE,
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("role", &escape(role)),
            ("uptime", &uptime.as_secs().to_string()),
            ("ready", &escape(ready)),
            ("pools", &sections),
        ],
    )
}

/// Replaces each `{{name}}` of `template` by its value, in one pass, so a
/// value that looks like a placeholder stays as it is.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let value = after.find("}}").and_then(|end| {
            let (_, value) = values.iter().find(|(name, _)| *name == &after[..end])?;
            Some((end, value))
        });
        match value {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A pool's section: its figures, then a row per server.
fn pool_section(pool: &Pool) -> String {
    let name = escape(&pool.cfg.name);
    let mut figures = POOL_FIGURES.to_vec();
    if let Some(cache) = &pool.cfg.cache {
        figures.extend_from_slice(CACHE_FIGURES);
        if cache.rules.iter().any(|r| r.policy == Policy::WriteBack) {
            figures.extend_from_slice(WRITE_BACK_FIGURES);
        }
    }
    let mut out = format!(
        "<section data-pool=\"{name}\">\n<h2>pool {name}</h2>\n\
         <p>listen {} &middot; <span data-field=\"live\">{PENDING}</span></p>\n<table>\n",
        escape(&pool.cfg.listen.to_string()),
    );
    heading_row(&mut out, &[], &figures);
    out.push_str("<tr>");
    figure_cells(&mut out, &figures);
    out.push_str("</tr>\n</table>\n<table>\n");
    heading_row(&mut out, &["server", "address"], SERVER_FIGURES);
    for server in &pool.servers {
        let _ = write!(
            out,
            "<tr data-server=\"{}\"><td>{}</td><td>{}</td>",
            escape(&server.name),
            escape(&server.name),
            escape(&server.addr),
        );
        figure_cells(&mut out, SERVER_FIGURES);
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</section>\n");
    out
}

fn heading_row(out: &mut String, first: &[&str], figures: &[Figure]) {
    out.push_str("<tr>");
    let headings = first
        .iter()
        .chain(figures.iter().map(|(_, heading)| heading));
    for heading in headings {
        let _ = write!(out, "<th>{heading}</th>");
    }
    out.push_str("</tr>\n");
}

fn figure_cells(out: &mut String, figures: &[Figure]) {
    for (field, _) in figures {
        let _ = write!(out, "<td data-field=\"{field}\">{PENDING}</td>");
    }
}

/// Escapes text for HTML, in text and in quoted attributes (names come from
/// the configuration).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::telemetry::{self, Kind};
    use std::collections::BTreeSet;

    /// The names of our metrics the page's script mentions, as the script
    /// uses them: a histogram by its base name, to which it adds `_sum` or `_count`.
    fn names_in_script() -> BTreeSet<&'static str> {
        let script = TEMPLATE
            .split("<script>")
            .nth(1)
            .expect("the page has a script");
        let mut names = BTreeSet::new();
        let mut rest = script;
        while let Some(at) = rest.find("shardcar_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(tail.len());
            names.insert(&tail[..end]);
            rest = &tail[end..];
        }
        names
    }

    #[test]
    fn every_metric_the_script_reads_is_declared_in_telemetry() {
        let names = names_in_script();
        for name in &names {
            assert!(
                telemetry::find(name).is_some(),
                "status.html reads {name}, which src/telemetry.rs does not declare"
            );
        }
        // The figures the page promises have their source among them.
        for wanted in [
            telemetry::PROXY_REQUESTS_TOTAL,
            telemetry::PROXY_ERRORS_TOTAL,
            telemetry::PROXY_SERVER_EJECTED,
            telemetry::PROXY_SERVER_REQUEST_DURATION_SECONDS,
            telemetry::CACHE_HITS_TOTAL,
            telemetry::CACHE_MISSES_TOTAL,
            telemetry::CACHE_FLUSH_LAG_SECONDS,
        ] {
            assert!(names.contains(wanted), "status.html does not read {wanted}");
        }
        // Latency means come from `M.x + "_sum"` and `"_count"`: x must be a histogram.
        let script = TEMPLATE.split("<script>").nth(1).unwrap_or_default();
        let mut suffixed = 0;
        for line in script.lines().filter(|l| l.contains("+ \"_sum\"")) {
            let key = between(line, "M.", " +");
            let name = between(script, &format!("\n  {key}: \""), "\"");
            let kind = telemetry::find(name).map(|d| d.kind);
            assert_eq!(kind, Some(Kind::Histogram), "M.{key} ({name}) gets _sum");
            suffixed += 1;
        }
        assert_eq!(suffixed, 2, "the pool's and the server's latency");
    }

    /// The text between `start` and the next `end`, or "" when there is none.
    fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
        text.split_once(start)
            .and_then(|(_, rest)| rest.split_once(end))
            .map_or("", |(inside, _)| inside)
    }

    #[test]
    fn placeholders_are_filled_once_and_text_is_escaped() {
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
        assert_eq!(
            fill("{{a}}-{{b}}-{{c}}-{{", &[("a", "{{b}}"), ("b", "2")]),
            "{{b}}-2-{{c}}-{{"
        );
        let page = render("<engine>", Duration::from_secs(42), "ready", &[]);
        assert!(!page.contains("{{"), "a placeholder is left");
        assert!(page.contains("role: &lt;engine&gt;"));
        assert!(page.contains("data-value=\"42\">42 s<"));
        assert!(!page.contains("<section"), "no pools, no sections");
    }

    #[test]
    fn each_pool_has_a_row_per_server_and_cache_figures_only_with_a_cache() {
        let yaml = "plain:\n  listen: 127.0.0.1:1\n  redis: true\n  servers:\n    \
                    - 127.0.0.1:7001:1 a&b\n    - 127.0.0.1:7002:1\n\
                    cached:\n  listen: 127.0.0.1:2\n  redis: true\n  servers:\n    - 127.0.0.1:7003:1 c\n  \
                    cache:\n    database: \"sqlite://:memory:\"\n    rules:\n      \
                    - {name: users, match: \"user:{id}\", table: users, value: name, policy: look_aside}\n";
        let cfg = Config::from_yaml(yaml).unwrap();
        let pools: Vec<Arc<Pool>> = cfg
            .pools
            .into_iter()
            .map(|p| Arc::new(Pool::new(p)))
            .collect();
        let page = render("proxy", Duration::ZERO, "ready", &pools);
        let (plain, cached) = page
            .split_once("<section data-pool=\"cached\">")
            .expect("a section per pool");
        assert!(plain.contains("<section data-pool=\"plain\">"));
        assert!(
            plain.contains("<tr data-server=\"a&amp;b\"><td>a&amp;b</td><td>127.0.0.1:7001</td>")
        );
        assert!(plain.contains("<tr data-server=\"127.0.0.1:7002\">"));
        assert!(!plain.contains("data-field=\"hit-rate\""));
        assert!(cached.contains("data-field=\"hit-rate\""));
        assert!(
            !cached.contains("data-field=\"flush-lag\""),
            "no write-back rule"
        );
        assert_eq!(plain.matches("data-field=\"state\"").count(), 2);
    }
}
