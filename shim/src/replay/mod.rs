//! `openim-shim replay`: sends every captured before-callback, through the serving path's own
//! conversion code (decode, call, encode: [`crate::commands::Command`]'s `ask`), to a policy,
//! compares each new reply with the captured one ([`crate::compare`]) and reports per command
//! ([`report`]), with an exit status for CI gates.
//!
//! Capture files are read on a thread of their own (blocking file I/O) and handed over a
//! bounded channel; calls run `--concurrency` at a time (1 by default: in capture order, which
//! matters to a policy with state, such as rate limits).

pub mod report;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use tokio::{sync::Semaphore, task::JoinSet};

use crate::{
    capture::{files, record::Line},
    commands::{self, Kind},
    compare::{Agreement, Decision, compare},
    dispatch::Ask,
    outcome::Outcome,
    policy_client::{ClientSettings, PolicyClient},
};
use report::{Example, Gate, Limit, Replayed, Report};

/// Exit status when the gate fails (more changes or errors than allowed).
pub const EXIT_GATE: u8 = 1;
/// Exit status when the replay cannot run (unreadable capture, invalid policy URL).
pub const EXIT_CANNOT_RUN: u8 = 2;

/// `openim-shim replay`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// Capture files or directories (a directory: its rotated files, oldest first, then
    /// capture.jsonl). Repeat for several.
    #[arg(long, required = true, value_name = "FILE|DIR")]
    pub capture: Vec<PathBuf>,

    /// The policy to ask: http://host:port or unix:/path (several, comma-separated, are
    /// balanced).
    #[arg(long, value_name = "URL[,URL...]")]
    pub policy: String,

    /// Deadline of each call.
    #[arg(long, default_value = "2s", value_parser = openim_common::parse_duration)]
    pub timeout: Duration,

    /// Calls in flight. Above 1 the policy sees the callbacks out of capture order.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,

    /// Fail (exit status 1) when more verdicts changed than this: a count (12) or a share of
    /// the compared callbacks (0.5%). Without it, changes never fail the replay.
    #[arg(long, value_name = "N|P%")]
    pub max_changed: Option<Limit>,

    /// Fail (exit status 1) when the new policy gave no decision for more callbacks than this.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub max_errors: u64,

    /// Write the JSON report to this file (`-`: standard output, instead of the table).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Examples kept per command and kind of change.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,

    /// errCode given to the new policy's refusals without one (the shim's `refuseCode`).
    #[arg(long, default_value_t = 5000)]
    pub refuse_code: i32,
}

/// A finished replay: the report, and whether it passed its gate.
#[derive(Debug)]
pub struct Finished {
    /// The figures.
    pub report: Report,
    /// The gate it was judged by.
    pub gate: Gate,
}

impl Finished {
    /// Why the gate failed (empty: passed).
    pub fn failures(&self) -> Vec<String> {
        self.report.failures(&self.gate)
    }
}

/// What a replayed line gives back to the report.
struct Done {
    command: &'static str,
    replayed: Replayed,
    example: Example,
}

/// Runs the replay of `args`.
pub async fn run(args: &ReplayArgs) -> anyhow::Result<Finished> {
    if args.refuse_code <= 0 {
        anyhow::bail!("--refuse-code must be positive");
    }
    let targets = args.policy.split(',').map(|t| t.trim().to_owned());
    let policy = PolicyClient::new(&ClientSettings {
        targets: targets.filter(|t| !t.is_empty()).collect(),
        ..ClientSettings::default()
    })
    .await
    .context("--policy")?;
    let mut paths = Vec::new();
    for p in &args.capture {
        paths.extend(capture_files(p).with_context(|| format!("--capture {}", p.display()))?);
    }
    let (tx, mut lines) = tokio::sync::mpsc::channel::<anyhow::Result<Read>>(1024);
    std::thread::Builder::new()
        .name("replay-reader".into())
        .spawn(move || read_lines(&paths, &tx))?;

    let mut report = Report::new(args.examples);
    let permits = Arc::new(Semaphore::new(args.concurrency as usize));
    let mut running = JoinSet::new();
    while let Some(line) = lines.recv().await {
        let Ok(line) = line? else {
            report.skip("incomplete last lines (a file being written)");
            continue;
        };
        let Some(job) = Job::of(line, &mut report) else {
            continue;
        };
        let permit = permits.clone().acquire_owned().await?;
        let (policy, timeout, refuse_code) = (policy.clone(), args.timeout, args.refuse_code);
        running.spawn(async move {
            let done = job.run(&policy, timeout, refuse_code).await;
            drop(permit);
            done
        });
        // Collect what finished, so that the set stays small.
        while let Some(done) = running.try_join_next() {
            add(&mut report, done?);
        }
    }
    while let Some(done) = running.join_next().await {
        add(&mut report, done?);
    }
    let gate = Gate {
        max_changed: args.max_changed,
        max_errors: args.max_errors,
    };
    Ok(Finished { report, gate })
}

fn add(report: &mut Report, done: Done) {
    let Done {
        command,
        replayed,
        example,
    } = done;
    report.add(command, &replayed, || example);
}

/// One captured before-callback to replay.
struct Job {
    line: Line,
    command: &'static commands::Command,
    wire_name: &'static str,
    /// The captured decision; `None` when the capture had none.
    baseline: Option<Decision>,
}

impl Job {
    /// The job of `line`, or `None` (counted in the report) when it is not replayed.
    fn of(line: Line, report: &mut Report) -> Option<Self> {
        if line.event != "callback" {
            report.skip("shadow lines");
            return None;
        }
        let Some((wire_name, command)) = commands::lookup(&line.command) else {
            report.skip("unknown commands");
            return None;
        };
        if command.kind == Kind::After || command.ask.is_none() {
            report.skip("after-callbacks");
            return None;
        }
        if line.body.is_none() {
            report.skip("bodies that are not JSON");
            return None;
        }
        let baseline = Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == line.outcome)
            .and_then(Decision::of);
        Some(Self {
            line,
            command,
            wire_name,
            baseline,
        })
    }

    async fn run(self, policy: &PolicyClient, timeout: Duration, refuse_code: i32) -> Done {
        let Self {
            line,
            command,
            wire_name,
            baseline,
        } = self;
        let body = line.body.as_ref().map(|b| b.get()).unwrap_or_default();
        let ask = command
            .ask
            .unwrap_or_else(|| unreachable!("checked in Job::of"));
        let started = Instant::now();
        let answer = ask(
            policy,
            Ask {
                body: body.as_bytes(),
                wire_name,
                operation_id: &line.operation_id,
                timeout,
                refuse_err_code: refuse_code,
            },
        )
        .await;
        let latency = started.elapsed();
        let before = line.reply.get().as_bytes();
        let (agreement, after) = match &answer {
            Ok(verdict) => {
                let after = String::from_utf8_lossy(&verdict.body).into_owned();
                match Decision::of(verdict.outcome) {
                    Some(second) => (
                        baseline.map(|first| compare((first, before), (second, &verdict.body))),
                        after,
                    ),
                    None => (Some(Agreement::Error), after),
                }
            }
            Err(e) => (Some(Agreement::Error), e.to_string()),
        };
        let replayed = match (baseline, agreement) {
            // Without a baseline an error is still an error.
            (None, Some(Agreement::Error)) | (Some(_), _) => Replayed::Compared {
                agreement: agreement.unwrap_or(Agreement::Error),
                latency,
            },
            (None, _) => Replayed::NoBaseline { latency },
        };
        Done {
            command: command.name,
            replayed,
            example: Example::new(&line.operation_id, body.as_bytes(), before, &after),
        }
    }
}

/// The capture files at `path`: the file itself, or a capture directory's files in order.
fn capture_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_dir() {
        files::in_order(path)
    } else {
        std::fs::metadata(path)?;
        Ok(vec![path.to_owned()])
    }
}

/// A line read: a capture line, or the cut-short last line of a file.
type Read = Result<Line, Truncated>;

/// The last line of a file, cut short (the shim was writing it).
#[derive(Debug)]
struct Truncated;

/// Reads `paths`' lines into `tx` (the reader thread); stops at the first error.
fn read_lines(paths: &[PathBuf], tx: &tokio::sync::mpsc::Sender<anyhow::Result<Read>>) {
    use std::io::BufRead as _;
    for path in paths {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(anyhow::anyhow!("{}: {e}", path.display())));
                return;
            }
        };
        let mut lines = std::io::BufReader::new(file).lines().enumerate().peekable();
        while let Some((n, line)) = lines.next() {
            let last = lines.peek().is_none();
            let parsed = line
                .map_err(anyhow::Error::from)
                .and_then(|l| {
                    if l.trim().is_empty() {
                        return Ok(None);
                    }
                    match serde_json::from_str::<Line>(&l) {
                        Ok(line) => Ok(Some(Ok(line))),
                        // The file being written may end with a line cut short.
                        Err(e) if last && e.is_eof() => Ok(Some(Err(Truncated))),
                        Err(e) => Err(e.into()),
                    }
                })
                .with_context(|| format!("{}, line {}", path.display(), n + 1));
            let sent = match parsed {
                Ok(None) => continue,
                Ok(Some(line)) => tx.blocking_send(Ok(line)),
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            if sent.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use bytes::Bytes;

    use super::*;
    use crate::capture::Record;

    fn line() -> String {
        Record {
            time: SystemTime::now(),
            command: "callbackBeforeSendSingleMsgCommand",
            kind: Kind::Before,
            operation_id: "op".into(),
            body: Bytes::from_static(br#"{"sendID":"1"}"#),
            reply: Bytes::from_static(crate::openim::CONTINUE),
            outcome: Outcome::Continue,
            cause: None,
            policy_latency: None,
            shadow: None,
        }
        .to_line(None)
    }

    fn read(text: &str) -> Vec<Result<bool, String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("capture.jsonl");
        std::fs::write(&path, text).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        read_lines(&[path], &tx);
        drop(tx);
        let mut got = Vec::new();
        while let Some(r) = rx.blocking_recv() {
            got.push(r.map(|r| r.is_ok()).map_err(|e| format!("{e:#}")));
        }
        got
    }

    #[test]
    fn a_line_cut_short_at_the_end_is_skipped_and_a_bad_line_elsewhere_stops_the_replay() {
        let (l, cut) = (line(), &line()[..40]);
        assert_eq!(
            read(&format!("{l}\n\n{l}\n{cut}")),
            [Ok(true), Ok(true), Ok(false)]
        );
        let got = read(&format!("{l}\n{cut}\n{l}\n"));
        assert_eq!(got.len(), 2);
        let e = got[1].clone().unwrap_err();
        assert!(e.contains("capture.jsonl, line 2"), "{e}");
    }
}
