//! The replay report: per command, how the new policy's verdicts compare with the captured ones,
//! a few examples of each kind of change, the new policy's latency; rendered as a table for
//! people and as JSON for machines; and the gate that turns it into an exit status. Pure.

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use serde_json::{Value, json};

use crate::{compare::Agreement, shadow::truncate};

/// Longest excerpt of a message, body or reply in an example.
pub const EXCERPT: usize = 160;

/// What happened to one captured callback in the replay.
#[derive(Debug, Clone)]
pub enum Replayed {
    /// Replayed and compared.
    Compared {
        /// How the new verdict relates to the captured one.
        agreement: Agreement,
        /// How long the new policy took.
        latency: Duration,
    },
    /// Replayed, but the captured reply was made without a policy decision (failure mode,
    /// disabled callback): nothing to compare with.
    NoBaseline {
        /// How long the new policy took.
        latency: Duration,
    },
}

/// An example of a change, excerpts only.
#[derive(Debug, Clone)]
pub struct Example {
    /// OpenIM's operation ID.
    pub operation_id: String,
    /// The message text, or the start of the body.
    pub content: String,
    /// The captured reply.
    pub before: String,
    /// The new reply, or the error.
    pub after: String,
}

impl Example {
    /// An example from the captured body, the captured reply and the new answer, cut to size.
    pub fn new(operation_id: &str, body: &[u8], before: &[u8], after: &str) -> Self {
        Self {
            operation_id: operation_id.to_owned(),
            content: truncate(&content(body), EXCERPT),
            before: truncate(&String::from_utf8_lossy(before), EXCERPT),
            after: truncate(after, EXCERPT),
        }
    }
}

/// What a person reads of a body: a message's text (its `content`, itself JSON for text
/// messages), else the body.
fn content(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return String::from_utf8_lossy(body).into_owned();
    };
    match v.get("content").and_then(Value::as_str) {
        Some(c) => match serde_json::from_str::<Value>(c) {
            Ok(inner) => inner
                .get("content")
                .and_then(Value::as_str)
                .map_or_else(|| c.to_owned(), str::to_owned),
            Err(_) => c.to_owned(),
        },
        None => String::from_utf8_lossy(body).into_owned(),
    }
}

/// One command's figures.
#[derive(Debug, Default, Clone)]
struct Row {
    counts: [u64; Agreement::ALL.len()],
    no_baseline: u64,
    latencies: Vec<Duration>,
    examples: BTreeMap<Agreement, Vec<Example>>,
}

impl Row {
    fn replayed(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.no_baseline
    }

    fn changed(&self) -> u64 {
        Agreement::ALL
            .iter()
            .filter(|a| a.changed())
            .map(|a| self.counts[*a as usize])
            .sum()
    }

    fn compared(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.no_baseline += other.no_baseline;
        self.latencies.extend_from_slice(&other.latencies);
    }
}

/// The figures of a replay.
#[derive(Debug, Clone)]
pub struct Report {
    rows: BTreeMap<String, Row>,
    /// Captured lines not replayed: after-callbacks, shadow lines, unknown commands.
    pub skipped: BTreeMap<String, u64>,
    max_examples: usize,
}

/// The gate: how many changed verdicts and errors a replay may show and still pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    /// Changed verdicts allowed: a count, or a share of the compared callbacks.
    pub max_changed: Option<Limit>,
    /// Callbacks the new policy gave no decision for, allowed.
    pub max_errors: u64,
}

/// A limit: a count or a percentage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// At most this many.
    Count(u64),
    /// At most this percentage of the compared callbacks.
    Percent(f64),
}

impl std::str::FromStr for Limit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s.strip_suffix('%') {
            Some(p) => match p.trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Ok(Self::Percent(p)),
                _ => Err(format!("{s:?} is not a percentage from 0% to 100%")),
            },
            None => s
                .parse()
                .map(Self::Count)
                .map_err(|_| format!("{s:?} is neither a count (12) nor a percentage (0.5%)")),
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Report {
    /// An empty report keeping up to `max_examples` examples per command and kind of change.
    pub fn new(max_examples: usize) -> Self {
        Self {
            rows: BTreeMap::new(),
            skipped: BTreeMap::new(),
            max_examples,
        }
    }

    /// Adds one replayed callback of `command`; `example` is made only when it will be kept.
    pub fn add(&mut self, command: &str, replayed: &Replayed, example: impl FnOnce() -> Example) {
        let row = self.rows.entry(command.to_owned()).or_default();
        match replayed {
            Replayed::Compared { agreement, latency } => {
                row.counts[*agreement as usize] += 1;
                row.latencies.push(*latency);
                if *agreement != Agreement::Same {
                    let kept = row.examples.entry(*agreement).or_default();
                    if kept.len() < self.max_examples {
                        kept.push(example());
                    }
                }
            }
            Replayed::NoBaseline { latency } => {
                row.no_baseline += 1;
                row.latencies.push(*latency);
            }
        }
    }

    /// Counts a captured line not replayed, by `why`.
    pub fn skip(&mut self, why: &str) {
        *self.skipped.entry(why.to_owned()).or_default() += 1;
    }

    fn total(&self) -> Row {
        let mut total = Row::default();
        for row in self.rows.values() {
            total.merge(row);
        }
        total
    }

    /// How many verdicts changed, in all.
    pub fn changed(&self) -> u64 {
        self.total().changed()
    }

    /// How many callbacks of `agreement`, in all.
    pub fn count(&self, agreement: Agreement) -> u64 {
        self.total().counts[agreement as usize]
    }

    /// Why the report fails `gate` (empty: it passes).
    pub fn failures(&self, gate: &Gate) -> Vec<String> {
        let total = self.total();
        let mut failed = Vec::new();
        let (changed, compared) = (total.changed(), total.compared());
        if let Some(limit) = gate.max_changed {
            let over = match limit {
                Limit::Count(n) => changed > n,
                Limit::Percent(p) => (changed as f64) > (compared as f64) * p / 100.0,
            };
            if over {
                failed.push(format!(
                    "{changed} of {compared} verdicts changed: more than --max-changed {limit}"
                ));
            }
        }
        let errors = total.counts[Agreement::Error as usize];
        if errors > gate.max_errors {
            failed.push(format!(
                "{errors} callbacks without a decision from the new policy: more than \
                 --max-errors {}",
                gate.max_errors
            ));
        }
        failed
    }

    /// The table, one line per command and a total.
    pub fn table(&self) -> String {
        let headers = [
            "command",
            "replayed",
            "same",
            "cont→refuse",
            "refuse→cont",
            "other code",
            "other rewrite",
            "error",
            "no baseline",
            "p50 ms",
            "p99 ms",
        ];
        let mut lines = vec![headers.map(str::to_owned).to_vec()];
        let total = self.total();
        let rows = self.rows.iter().map(|(c, r)| (c.as_str(), r));
        for (name, row) in rows.chain(std::iter::once(("total", &total))) {
            let mut cells = vec![name.to_owned(), row.replayed().to_string()];
            cells.extend(row.counts.iter().map(u64::to_string));
            cells.push(row.no_baseline.to_string());
            let p = percentiles(&row.latencies);
            cells.push(ms(p.get("p50")));
            cells.push(ms(p.get("p99")));
            lines.push(cells);
        }
        let widths: Vec<usize> = (0..headers.len())
            .map(|i| {
                lines
                    .iter()
                    .map(|l| l[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for line in &lines {
            for (i, cell) in line.iter().enumerate() {
                let pad = widths[i] - cell.chars().count();
                if i == 0 {
                    let _ = write!(out, "{cell}{}", " ".repeat(pad));
                } else {
                    let _ = write!(out, "  {}{cell}", " ".repeat(pad));
                }
            }
            out.push('\n');
        }
        for (why, n) in &self.skipped {
            let _ = writeln!(out, "not replayed: {n} {why}");
        }
        out
    }

    /// The JSON report: totals, each command's figures and examples, the gate's verdict.
    pub fn to_json(&self, gate: &Gate) -> Value {
        let row_json = |row: &Row, examples: bool| {
            let mut v = json!({
                "replayed": row.replayed(),
                "changed": row.changed(),
                "noBaseline": row.no_baseline,
                "latencyMs": percentiles(&row.latencies)
                    .into_iter()
                    .map(|(k, d)| (k.to_owned(), json!(d.as_secs_f64() * 1000.0)))
                    .collect::<serde_json::Map<_, _>>(),
            });
            for a in Agreement::ALL {
                v[a.as_str()] = json!(row.counts[a as usize]);
            }
            if examples {
                v["examples"] = row
                    .examples
                    .iter()
                    .map(|(a, list)| {
                        let list: Vec<_> = list
                            .iter()
                            .map(|e| {
                                json!({"operationID": e.operation_id, "content": e.content,
                                    "before": e.before, "after": e.after})
                            })
                            .collect();
                        (a.as_str().to_owned(), Value::from(list))
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into();
            }
            v
        };
        let failures = self.failures(gate);
        json!({
            "total": row_json(&self.total(), false),
            "commands": self.rows.iter()
                .map(|(c, r)| (c.clone(), row_json(r, true)))
                .collect::<serde_json::Map<_, _>>(),
            "skipped": self.skipped,
            "gate": {
                "maxChanged": gate.max_changed.map(|l| l.to_string()),
                "maxErrors": gate.max_errors,
                "passed": failures.is_empty(),
                "failures": failures,
            },
        })
    }
}

fn ms(d: Option<&Duration>) -> String {
    d.map_or_else(
        || "-".to_owned(),
        |d| format!("{:.2}", d.as_secs_f64() * 1000.0),
    )
}

/// p50, p90, p99 and max of `latencies` (nearest rank); empty when there are none.
pub fn percentiles(latencies: &[Duration]) -> BTreeMap<&'static str, Duration> {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let mut out = BTreeMap::new();
    if sorted.is_empty() {
        return out;
    }
    for (name, p) in [("p50", 50), ("p90", 90), ("p99", 99)] {
        // Nearest rank: the smallest value with at least p% of the values at or below it.
        let rank = (sorted.len() * p).div_ceil(100).max(1);
        out.insert(name, sorted[rank - 1]);
    }
    out.insert("max", sorted[sorted.len() - 1]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compared(a: Agreement, ms: u64) -> Replayed {
        Replayed::Compared {
            agreement: a,
            latency: Duration::from_millis(ms),
        }
    }

    fn example(i: usize) -> Example {
        let body = format!(
            r#"{{"content":"{{\"content\":\"text {i} {}\"}}"}}"#,
            "x".repeat(300)
        );
        Example::new(&format!("op-{i}"), body.as_bytes(), b"{}", "refused")
    }

    #[test]
    fn counts_examples_and_the_gate() {
        let mut r = Report::new(2);
        let single = "callbackBeforeSendSingleMsgCommand";
        for i in 0..5 {
            r.add(single, &compared(Agreement::ContinueToRefuse, 1), || {
                example(i)
            });
        }
        for _ in 0..90 {
            r.add(single, &compared(Agreement::Same, 2), || unreachable!());
        }
        r.add(
            "callbackBeforeSendGroupMsgCommand",
            &compared(Agreement::Error, 9),
            || example(9),
        );
        r.add(
            single,
            &Replayed::NoBaseline {
                latency: Duration::ZERO,
            },
            || unreachable!(),
        );
        r.skip("after-callbacks");
        assert_eq!((r.changed(), r.count(Agreement::Error)), (5, 1));

        let gate = |max_changed, max_errors| Gate {
            max_changed,
            max_errors,
        };
        assert!(r.failures(&gate(Some(Limit::Count(5)), 1)).is_empty());
        assert_eq!(r.failures(&gate(Some(Limit::Count(4)), 1)).len(), 1);
        assert_eq!(r.failures(&gate(Some(Limit::Count(5)), 0)).len(), 1);
        // 5 of 96 compared: 5.2 %.
        assert!(
            r.failures(&gate(Some("5.3%".parse().unwrap()), 1))
                .is_empty()
        );
        assert_eq!(r.failures(&gate(Some("5%".parse().unwrap()), 1)).len(), 1);
        assert!(r.failures(&gate(None, 1)).is_empty());

        let j = r.to_json(&gate(Some(Limit::Count(4)), 1));
        assert_eq!(j["total"]["replayed"], 97);
        assert_eq!(j["total"]["continue_to_refuse"], 5);
        assert_eq!(j["total"]["noBaseline"], 1);
        assert_eq!(j["gate"]["passed"], false);
        let kept = j["commands"][single]["examples"]["continue_to_refuse"]
            .as_array()
            .unwrap();
        assert_eq!(kept.len(), 2);
        let content = kept[0]["content"].as_str().unwrap();
        assert!(
            content.starts_with("text 0 xx") && content.ends_with('…'),
            "{content}"
        );
        assert!(content.len() <= EXCERPT + '…'.len_utf8());
        assert_eq!(j["skipped"]["after-callbacks"], 1);

        let table = r.table();
        let total = table.lines().find(|l| l.starts_with("total")).unwrap();
        let cells: Vec<_> = total.split_whitespace().collect();
        assert_eq!(
            &cells[1..9],
            ["97", "90", "5", "0", "0", "0", "1", "1"],
            "{table}"
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let l: Vec<_> = (1..=100).map(Duration::from_millis).collect();
        let p = percentiles(&l);
        let ms = |k| p[k].as_millis();
        assert_eq!(
            (ms("p50"), ms("p90"), ms("p99"), ms("max")),
            (50, 90, 99, 100)
        );
        assert_eq!(
            percentiles(&[Duration::from_millis(7)])["p99"].as_millis(),
            7
        );
        assert!(percentiles(&[]).is_empty());
    }

    #[test]
    fn limits_read_counts_and_percentages() {
        assert_eq!("12".parse::<Limit>(), Ok(Limit::Count(12)));
        assert_eq!("0.5%".parse::<Limit>(), Ok(Limit::Percent(0.5)));
        assert!("-1".parse::<Limit>().is_err() && "101%".parse::<Limit>().is_err());
    }
}
