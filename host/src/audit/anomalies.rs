//! Unusual access, found in the audit log: a plugin or caller touching far
//! more subjects or rows than its own baseline, activity at hours it is
//! never active, and bulk exports. Pure: entries in, findings out.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::{Entry, action};

const HOUR_MS: i64 = 60 * 60 * 1000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Thresholds. A finding needs both: more than the absolute floor (so a
/// quiet site is not flagged for reading ten tickets) and more than
/// `factor` times the actor's own baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Thresholds {
    /// One call touching at least this many subjects is a bulk read...
    pub call_subjects: u64,
    /// ...or returning at least this many rows.
    pub call_rows: i64,
    /// One actor touching this many distinct subjects in one hour.
    pub hourly_subjects: u64,
    /// How far above the baseline (its 95th percentile) counts as unusual.
    pub factor: f64,
    /// Subjects exported by one actor within 24 hours.
    pub exports_per_day: u64,
    /// Unusual hours are only judged for actors with this much history...
    pub min_baseline_entries: usize,
    /// ...spread over at least this many days.
    pub min_baseline_days: usize,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            // tickets.list pages hold up to 500 tickets.
            call_subjects: 500,
            call_rows: 5000,
            hourly_subjects: 1000,
            factor: 5.0,
            exports_per_day: 5,
            min_baseline_entries: 50,
            min_baseline_days: 7,
        }
    }
}

/// One finding with the entries that show it.
#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    /// `bulk-read`, `volume-spike`, `unusual-hour` or `bulk-export`.
    pub kind: &'static str,
    /// `plugin:ID` or the actor (`bridge:CALLER`, `cli:USER`).
    pub who: String,
    pub message: String,
    /// The entries' numbers (`wasmdesk audit log` shows them).
    pub evidence: Vec<i64>,
}

/// Whom an entry counts for: the plugin it ran and the actor who asked.
fn keys(entry: &Entry) -> Vec<String> {
    let mut keys = vec![entry.actor.clone()];
    if let Some(plugin) = &entry.plugin {
        keys.push(format!("plugin:{plugin}"));
    }
    keys
}

/// The value below which 95% of `values` lie (0 for none).
fn p95(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * 0.95).round() as usize]
}

/// Look for anomalies in the entries at or after `window_start_ms`; the
/// entries before it are each actor's baseline.
pub fn detect(entries: &[Entry], window_start_ms: i64, t: &Thresholds) -> Vec<Anomaly> {
    let (baseline, window): (Vec<&Entry>, Vec<&Entry>) =
        entries.iter().partition(|e| e.at_ms < window_start_ms);
    let mut base_by_key: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
    for entry in &baseline {
        for key in keys(entry) {
            base_by_key.entry(key).or_default().push(entry);
        }
    }
    let mut found = Vec::new();
    bulk_reads(&window, &base_by_key, t, &mut found);
    volume_spikes(&window, &base_by_key, t, &mut found);
    unusual_hours(&window, &base_by_key, t, &mut found);
    bulk_exports(&window, t, &mut found);
    found
}

fn bulk_reads(
    window: &[&Entry],
    base: &BTreeMap<String, Vec<&Entry>>,
    t: &Thresholds,
    found: &mut Vec<Anomaly>,
) {
    // Per plugin (an actor's calls run many plugins: the plugin's own
    // history is the better baseline for one call).
    let mut by_plugin: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
    for entry in window.iter().filter(|e| e.action == action::PLUGIN_CALL) {
        if let Some(plugin) = &entry.plugin {
            by_plugin
                .entry(format!("plugin:{plugin}"))
                .or_default()
                .push(entry);
        }
    }
    for (key, entries) in by_plugin {
        let history = base.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let subjects_base = p95(history.iter().map(|e| e.subjects.len() as f64).collect());
        let rows_base = p95(history.iter().map(|e| e.rows_read as f64).collect());
        let subject_limit = (t.call_subjects as f64).max(t.factor * subjects_base);
        let rows_limit = (t.call_rows as f64).max(t.factor * rows_base);
        let flagged: Vec<&&Entry> = entries
            .iter()
            .filter(|e| {
                e.subjects.len() as f64 >= subject_limit || e.rows_read as f64 >= rows_limit
            })
            .collect();
        if flagged.is_empty() {
            continue;
        }
        let most_subjects = flagged.iter().map(|e| e.subjects.len()).max().unwrap_or(0);
        let most_rows = flagged.iter().map(|e| e.rows_read).max().unwrap_or(0);
        found.push(Anomaly {
            kind: "bulk-read",
            who: key.clone(),
            message: format!(
                "{} call(s) read far more than usual: up to {most_subjects} subject(s) and \
                 {most_rows} row(s) in one call (limit {:.0} subjects / {:.0} rows; the \
                 plugin's usual 95th percentile: {:.0} / {:.0})",
                flagged.len(),
                subject_limit,
                rows_limit,
                subjects_base,
                rows_base
            ),
            evidence: flagged.iter().map(|e| e.seq).collect(),
        });
    }
}

fn volume_spikes(
    window: &[&Entry],
    base: &BTreeMap<String, Vec<&Entry>>,
    t: &Thresholds,
    found: &mut Vec<Anomaly>,
) {
    // Distinct subjects per key per hour.
    let hourly = |entries: &[&Entry]| -> BTreeMap<(String, i64), (HashSet<String>, Vec<i64>)> {
        let mut map: BTreeMap<(String, i64), (HashSet<String>, Vec<i64>)> = BTreeMap::new();
        for entry in entries {
            for key in keys(entry) {
                let slot = map.entry((key, entry.at_ms / HOUR_MS)).or_default();
                slot.0.extend(entry.subjects.iter().cloned());
                slot.1.push(entry.seq);
            }
        }
        map
    };
    for ((key, hour), (subjects, seqs)) in hourly(window) {
        let history = base.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let base_hours: Vec<f64> = hourly(history)
            .into_values()
            .map(|(s, _)| s.len() as f64)
            .collect();
        let baseline = p95(base_hours);
        let limit = (t.hourly_subjects as f64).max(t.factor * baseline);
        if subjects.len() as f64 >= limit {
            found.push(Anomaly {
                kind: "volume-spike",
                who: key,
                message: format!(
                    "touched {} distinct subject(s) in the hour from {} UTC (limit {limit:.0}; \
                     its usual busiest hours: {baseline:.0})",
                    subjects.len(),
                    super::time::format_ms(hour * HOUR_MS)
                ),
                evidence: seqs,
            });
        }
    }
}

fn unusual_hours(
    window: &[&Entry],
    base: &BTreeMap<String, Vec<&Entry>>,
    t: &Thresholds,
    found: &mut Vec<Anomaly>,
) {
    let hour_of_day = |ms: i64| (ms.rem_euclid(DAY_MS) / HOUR_MS) as usize;
    for (key, history) in base {
        let days: HashSet<i64> = history.iter().map(|e| e.at_ms / DAY_MS).collect();
        if history.len() < t.min_baseline_entries || days.len() < t.min_baseline_days {
            continue;
        }
        let mut counts = [0usize; 24];
        for entry in history {
            counts[hour_of_day(entry.at_ms)] += 1;
        }
        // An hour counts as usual when it or a neighbour holds at least 1%
        // of the actor's activity.
        let usual = |h: usize| {
            [(h + 23) % 24, h, (h + 1) % 24]
                .iter()
                .any(|&n| counts[n] * 100 >= history.len())
        };
        let odd: Vec<&&Entry> = window
            .iter()
            .filter(|e| keys(e).contains(key) && !usual(hour_of_day(e.at_ms)))
            .collect();
        if odd.is_empty() {
            continue;
        }
        let hours: std::collections::BTreeSet<usize> =
            odd.iter().map(|e| hour_of_day(e.at_ms)).collect();
        found.push(Anomaly {
            kind: "unusual-hour",
            who: key.clone(),
            message: format!(
                "{} access(es) at {} UTC, hours at which it was never active in {} entries over {} days",
                odd.len(),
                hours
                    .iter()
                    .map(|h| format!("{h:02}:00"))
                    .collect::<Vec<_>>()
                    .join(", "),
                history.len(),
                days.len()
            ),
            evidence: odd.iter().map(|e| e.seq).collect(),
        });
    }
}

fn bulk_exports(window: &[&Entry], t: &Thresholds, found: &mut Vec<Anomaly>) {
    let mut by_actor: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for entry in window
        .iter()
        .filter(|e| e.action == action::EXPORT_DOWNLOAD)
    {
        by_actor.entry(&entry.actor).or_default().push(entry);
    }
    for (actor, exports) in by_actor {
        // Slide a 24-hour window over the actor's exports.
        let mut worst: Option<(usize, usize, usize)> = None;
        let mut start = 0;
        for end in 0..exports.len() {
            while exports[end].at_ms - exports[start].at_ms >= DAY_MS {
                start += 1;
            }
            let subjects: HashSet<&String> = exports[start..=end]
                .iter()
                .flat_map(|e| &e.subjects)
                .collect();
            if worst.is_none_or(|(n, _, _)| subjects.len() > n) {
                worst = Some((subjects.len(), start, end));
            }
        }
        if let Some((n, start, end)) = worst
            && n as u64 >= t.exports_per_day
        {
            found.push(Anomaly {
                kind: "bulk-export",
                who: actor.to_string(),
                message: format!(
                    "exported the data of {n} subject(s) within 24 hours (limit {})",
                    t.exports_per_day
                ),
                evidence: exports[start..=end].iter().map(|e| e.seq).collect(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, at_ms: i64, actor: &str, plugin: &str, subjects: usize) -> Entry {
        Entry {
            seq,
            at_ms,
            actor: actor.into(),
            action: action::PLUGIN_CALL.into(),
            plugin: Some(plugin.into()),
            operation: Some("command get".into()),
            outcome: "ok".into(),
            duration_us: 100,
            rows_read: subjects as i64,
            rows_written: 0,
            tables: vec![],
            subjects: (0..subjects).map(|i| format!("s{seq}-{i}")).collect(),
            detail: serde_json::json!({}),
            prev: String::new(),
            hash: String::new(),
        }
    }

    /// Thirty days of office-hours work: 10 calls a day between 09:00 and
    /// 17:00 UTC, one subject each.
    fn office_history() -> Vec<Entry> {
        let mut entries = Vec::new();
        for day in 0..30 {
            for i in 0..10 {
                let at = day * DAY_MS + 9 * HOUR_MS + i * 45 * 60 * 1000;
                entries.push(entry(
                    entries.len() as i64 + 1,
                    at,
                    "bridge:wp",
                    "tickets",
                    1,
                ));
            }
        }
        entries
    }

    #[test]
    fn a_normal_day_is_quiet() {
        let mut entries = office_history();
        let day = 30 * DAY_MS;
        for i in 0..10 {
            let at = day + 10 * HOUR_MS + i * 30 * 60 * 1000;
            entries.push(entry(1000 + i, at, "bridge:wp", "tickets", 2));
        }
        assert!(detect(&entries, day, &Thresholds::default()).is_empty());
    }

    #[test]
    fn a_night_time_access_is_unusual() {
        let mut entries = office_history();
        let day = 30 * DAY_MS;
        entries.push(entry(2000, day + 3 * HOUR_MS, "bridge:wp", "tickets", 1));
        let found = detect(&entries, day, &Thresholds::default());
        let odd: Vec<&Anomaly> = found.iter().filter(|a| a.kind == "unusual-hour").collect();
        assert_eq!(odd.len(), 2, "{found:?}"); // the caller and the plugin
        assert!(odd.iter().all(|a| a.evidence == [2000]));
        assert!(odd[0].message.contains("03:00"), "{}", odd[0].message);
    }

    #[test]
    fn a_call_far_above_the_baseline_is_a_bulk_read() {
        let mut entries = office_history();
        let day = 30 * DAY_MS;
        entries.push(entry(3000, day + 10 * HOUR_MS, "bridge:wp", "tickets", 600));
        let found = detect(&entries, day, &Thresholds::default());
        let bulk: Vec<&Anomaly> = found.iter().filter(|a| a.kind == "bulk-read").collect();
        assert_eq!(bulk.len(), 1, "{found:?}");
        assert_eq!(bulk[0].who, "plugin:tickets");
        assert_eq!(bulk[0].evidence, [3000]);
    }

    #[test]
    fn a_plugin_that_always_reads_much_is_judged_by_its_own_baseline() {
        // A report plugin reading 100 subjects per call every day is normal
        // for it; 100 again today is not an anomaly, 1000 is.
        let mut entries = Vec::new();
        for day in 0..10 {
            entries.push(entry(
                day + 1,
                day * DAY_MS + 12 * HOUR_MS,
                "cli:owner",
                "reports",
                100,
            ));
        }
        let today = 10 * DAY_MS;
        entries.push(entry(
            100,
            today + 12 * HOUR_MS,
            "cli:owner",
            "reports",
            100,
        ));
        let quiet = detect(&entries, today, &Thresholds::default());
        assert!(quiet.iter().all(|a| a.kind != "bulk-read"), "{quiet:?}");
        entries.push(entry(
            101,
            today + 12 * HOUR_MS + 1,
            "cli:owner",
            "reports",
            1000,
        ));
        let found = detect(&entries, today, &Thresholds::default());
        let bulk: Vec<&Anomaly> = found.iter().filter(|a| a.kind == "bulk-read").collect();
        assert_eq!(bulk.len(), 1, "{found:?}");
        assert_eq!(bulk[0].evidence, [101]);
    }

    #[test]
    fn many_exports_in_a_day_are_flagged() {
        let mut entries = Vec::new();
        for i in 0..6 {
            let mut e = entry(i + 1, i * 60_000, "bridge:wp:user:9", "tickets", 0);
            e.action = action::EXPORT_DOWNLOAD.into();
            e.plugin = None;
            e.subjects = vec![format!("subject-{i}")];
            entries.push(e);
        }
        let found = detect(&entries, 0, &Thresholds::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, "bulk-export");
        assert_eq!(found[0].evidence, [1, 2, 3, 4, 5, 6]);
        // Four exports are normal work.
        let found = detect(&entries[..4], 0, &Thresholds::default());
        assert!(found.is_empty(), "{found:?}");
    }
}
