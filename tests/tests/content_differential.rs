//! The policy reads a message's content the way OpenIM's clients do: a differential test of
//! `openim_policy::content` against Go's `encoding/json` (`tests/go-textread`, mirrors of
//! openim-sdk-core's element structs) on contents generated from a seed
//! (`openim_tests::content_cases`). For every case both must agree on each text field's value
//! and on whether `json.Unmarshal` fails (and why); every disagreement fails the test. Each
//! decodable case is also rewritten the way msg-modify masks it, and Go must read exactly the
//! new texts from the rewrite.
//!
//! The normal run checks 4,000 cases. The long run (run it after changing the reader):
//!
//! ```sh
//! OPENIM_DIFF_CASES=200000 cargo test -p openim-tests --test content_differential -- --nocapture
//! ```
//!
//! `OPENIM_DIFF_SEED` picks another seed (default 17).

use openim_policy::content::{GoError, canonical_object, read_fields};
use openim_tests::{
    content_cases::{self, Case},
    go_textread,
};

const DEFAULT_CASES: usize = 4_000;
const DEFAULT_SEED: u64 = 17;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The policy's reading, in the terms of go-textread's output.
fn rust_read(kind: &str, content: &[u8]) -> (Vec<String>, String) {
    let fields = content_cases::fields_of(kind);
    let read = read_fields(content, fields);
    let values = read
        .values
        .iter()
        .map(|v| v.as_deref().unwrap_or("").to_owned())
        .collect();
    let error = match read.error {
        None => String::new(),
        Some(GoError::Syntax { .. }) => "syntax".into(),
        Some(GoError::NotAnObject) => "notAnObject".into(),
        Some(GoError::FieldType { field }) => format!("fieldType:{}", fields[field]),
    };
    (values, error)
}

/// A masked version of each stored text, as msg-modify would write (every other character
/// starred, so that texts change and keep their length).
fn masked(values: &[Option<String>]) -> Vec<Option<String>> {
    values
        .iter()
        .map(|v| {
            v.as_ref().map(|t| {
                t.chars()
                    .enumerate()
                    .map(|(i, c)| if i % 2 == 0 { '*' } else { c })
                    .collect()
            })
        })
        .collect()
}

fn show(content: &[u8]) -> String {
    let s = String::from_utf8_lossy(content);
    if s.len() > 300 {
        let cut: String = s.chars().take(200).collect();
        format!("{cut:?}… ({} bytes)", content.len())
    } else {
        format!("{s:?}")
    }
}

#[test]
fn the_policy_reads_contents_as_go_s_encoding_json_does() {
    let n = env_or("OPENIM_DIFF_CASES", DEFAULT_CASES);
    let seed = env_or("OPENIM_DIFF_SEED", DEFAULT_SEED);
    let cases = content_cases::generate(seed, n);

    // The rewrites msg-modify would make of the decodable cases, read by Go in the same run.
    let mut rewrites: Vec<(usize, Case, Vec<Option<String>>)> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let fields = content_cases::fields_of(case.kind);
        let read = read_fields(&case.content, fields);
        if read.error.is_some() {
            continue;
        }
        let old: Vec<Option<String>> = read
            .values
            .iter()
            .map(|v| v.as_deref().map(str::to_owned))
            .collect();
        let new = masked(&old);
        let refs: Vec<Option<&str>> = new.iter().map(Option::as_deref).collect();
        if let Some(canon) = canonical_object(&case.content, fields, &refs) {
            // What the shim forwards: a JSON object serde_json reads too.
            assert!(
                canon.starts_with('{')
                    && serde_json::from_str::<serde::de::IgnoredAny>(&canon).is_ok(),
                "rewrite of case {i} is not a JSON object for serde_json: {canon}"
            );
            // Canonical means stable.
            assert_eq!(
                canonical_object(canon.as_bytes(), fields, &refs).as_deref(),
                Some(canon.as_str()),
                "rewrite of case {i} is not stable"
            );
            rewrites.push((
                i,
                Case {
                    kind: case.kind,
                    content: canon.into_bytes(),
                },
                new,
            ));
        }
    }

    let mut queries: Vec<(&str, &[u8])> = cases.iter().map(|c| (c.kind, &c.content[..])).collect();
    queries.extend(rewrites.iter().map(|(_, c, _)| (c.kind, &c.content[..])));
    let started = std::time::Instant::now();
    let go = go_textread::read(&queries);

    let mut failures = Vec::new();
    let mut errors = std::collections::BTreeMap::<String, usize>::new();
    for (i, (case, go)) in cases.iter().zip(&go).enumerate() {
        let (values, error) = rust_read(case.kind, &case.content);
        *errors.entry(error.clone()).or_default() += 1;
        if !go.full {
            failures.push(format!(
                "case {i} ({}): the SDK's element struct reads other texts than its text fields: {}",
                case.kind,
                show(&case.content)
            ));
        }
        if values != go.values || error != go.error {
            failures.push(format!(
                "case {i} ({}): {}\n  policy: {values:?} {error:?}\n  go:     {:?} {:?}",
                case.kind,
                show(&case.content),
                go.values,
                go.error
            ));
        }
    }
    for ((i, case, new), go) in rewrites.iter().zip(&go[cases.len()..]) {
        let want: Vec<String> = new.iter().map(|v| v.clone().unwrap_or_default()).collect();
        if go.values != want || !go.error.is_empty() {
            failures.push(format!(
                "rewrite of case {i} ({}): {}\n  written: {want:?}\n  go read: {:?} {:?}",
                case.kind,
                show(&case.content),
                go.values,
                go.error
            ));
        }
    }
    println!(
        "{} cases (seed {seed}) and {} rewrites read by Go in {:?}; policy errors by kind: {errors:?}",
        cases.len(),
        rewrites.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements with Go, the first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The generator must keep exercising every outcome.
    for kind in ["", "syntax", "notAnObject"] {
        assert!(errors.contains_key(kind), "no case with error {kind:?}");
    }
    assert!(
        errors.keys().any(|k| k.starts_with("fieldType:")),
        "no case with a field type error"
    );
}
