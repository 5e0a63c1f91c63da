//! The scenario table: which OpenIM request to send and what the reply must mean, read from a
//! YAML file (`examples/conformance/scenario.yaml` by default) so that a policy author can run
//! the kit with a table of their own.

use std::path::{Path, PathBuf};

use openim_shim::commands::{self, Kind};
use serde::Deserialize;

/// A scenario file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file or a fixture could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not the expected YAML shape.
    #[error("invalid scenario {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// Well-formed, but a case cannot be run as written.
    #[error("case {case:?}: {message}")]
    Invalid {
        /// The case's name.
        case: String,
        /// What is wrong.
        message: String,
    },
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScenarioFile {
    cases: Vec<CaseSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CaseSpec {
    name: String,
    fixture: PathBuf,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    replace: Vec<Replacement>,
    expect: Expect,
    #[serde(default)]
    policy: PolicyAnswer,
}

/// A text substitution in the fixture's bytes, so that a case can reuse one of OpenIM's
/// byte-exact requests with another message text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Replacement {
    from: String,
    to: String,
}

/// What OpenIM's reply must mean.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Expect {
    /// Continue and change nothing (fields equal to the request's are allowed: an echo).
    Continue,
    /// Refuse with this code (and message and detail, when given).
    #[serde(rename_all = "camelCase")]
    Refuse {
        /// errCode.
        err_code: i32,
        /// errMsg, if checked.
        #[serde(default)]
        err_msg: Option<String>,
        /// errDlt, if checked.
        #[serde(default)]
        err_dlt: Option<String>,
    },
    /// Continue with a new `content`: a JSON object whose text (key `content`, as in text
    /// messages) is this.
    Text(String),
    /// Continue with new offline push texts: this title, and the request's other texts kept.
    PushTitle(String),
    /// An after-event: OpenIM gets "continue" at once, and the policy accepts the event (an OK
    /// status): the event is counted.
    Counted,
}

/// How the policy must answer the RPC (seen between the shim and the policy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyAnswer {
    /// A response (status OK).
    #[default]
    Ok,
    /// UNIMPLEMENTED: the policy does not handle this callback.
    Unimplemented,
}

/// One row of the table, ready to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// What it checks, in words.
    pub name: String,
    /// The OpenIM command, posted to `/openim/<command>`.
    pub command: String,
    /// The gRPC path the shim calls for it.
    pub rpc: &'static str,
    /// Whether OpenIM waits for the policy.
    pub kind: Kind,
    /// The request body, byte for byte.
    pub body: Vec<u8>,
    /// The reply's meaning.
    pub expect: Expect,
    /// The policy's answer.
    pub policy: PolicyAnswer,
}

/// A loaded scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The cases, in file order.
    pub cases: Vec<Case>,
}

impl Scenario {
    /// The scenario shipped with the repository: `examples/conformance/scenario.yaml`.
    pub fn default_path() -> PathBuf {
        let path = crate::repo_path("examples/conformance/scenario.yaml");
        // Without the `tests/..` detour in messages, when the file is there.
        path.canonicalize().unwrap_or(path)
    }

    /// Reads a scenario file; fixture paths are relative to the file's folder.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| ScenarioError::Read {
                path: p.to_owned(),
                source,
            })
        };
        let text = read(path)?;
        let file: ScenarioFile =
            serde_saphyr::from_slice(&text).map_err(|e| ScenarioError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let cases = file
            .cases
            .into_iter()
            .map(|spec| {
                let body = read(&dir.join(&spec.fixture))?;
                Case::new(spec, body)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { cases })
    }
}

impl Case {
    fn new(spec: CaseSpec, mut body: Vec<u8>) -> Result<Self, ScenarioError> {
        let invalid = |message: String| ScenarioError::Invalid {
            case: spec.name.clone(),
            message,
        };
        let command = match &spec.command {
            Some(c) => c.clone(),
            None => spec
                .fixture
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| invalid("the fixture has no file name".into()))?
                .to_owned(),
        };
        let (_, row) = commands::lookup(&command).ok_or_else(|| {
            invalid(format!(
                "{command:?} is not an OpenIM command the shim knows (name the fixture \
                 <command>.json or set `command`)"
            ))
        })?;
        for r in &spec.replace {
            body = replace_once(&body, r.from.as_bytes(), r.to.as_bytes())
                .ok_or_else(|| invalid(format!("{:?} is not in the fixture", r.from)))?;
        }
        let after = row.kind == Kind::After;
        match (&spec.expect, after) {
            (Expect::Counted, false) => {
                return Err(invalid("`counted` is for after-callbacks".into()));
            }
            (Expect::Continue | Expect::Counted, true) => {}
            (_, true) => {
                return Err(invalid(
                    "an after-callback's reply is always continue: expect `counted` or `continue`"
                        .into(),
                ));
            }
            _ => {}
        }
        if spec.policy == PolicyAnswer::Unimplemented && spec.expect != Expect::Continue {
            return Err(invalid(
                "a policy that does not implement a callback can only get `continue`".into(),
            ));
        }
        Ok(Self {
            name: spec.name,
            command,
            rpc: row.rpc,
            kind: row.kind,
            body,
            expect: spec.expect,
            policy: spec.policy,
        })
    }
}

/// `haystack` with the first occurrence of `from` replaced by `to`, or `None` if absent.
fn replace_once(haystack: &[u8], from: &[u8], to: &[u8]) -> Option<Vec<u8>> {
    if from.is_empty() {
        return None;
    }
    let at = haystack.windows(from.len()).position(|w| w == from)?;
    let mut out = Vec::with_capacity(haystack.len() + to.len());
    out.extend_from_slice(&haystack[..at]);
    out.extend_from_slice(to);
    out.extend_from_slice(&haystack[at + from.len()..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Loads `yaml` from a temporary file; `FIXTURES` stands for `tests/fixtures`.
    fn parse(yaml: &str) -> Result<Scenario, ScenarioError> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "conformance-scenario-{}-{}.yaml",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let fixtures = crate::fixture_path("");
        let yaml = yaml.replace("FIXTURES", fixtures.to_str().expect("utf-8 path"));
        std::fs::write(&path, yaml).expect("write scenario");
        let scenario = Scenario::load(&path);
        let _ = std::fs::remove_file(&path);
        scenario
    }

    #[test]
    fn the_shipped_scenario_loads() {
        let scenario = Scenario::load(&Scenario::default_path()).expect("shipped scenario");
        assert!(scenario.cases.len() >= 8);
    }

    #[test]
    fn a_case_gets_its_command_and_rpc_from_the_fixture_name_and_its_text_replaced() {
        let s = parse(
            "cases:\n  - name: r\n    fixture: FIXTURES/callbackBeforeSendSingleMsgCommand.json\n    \
             replace: [{from: hello, to: a scam}]\n    expect: {refuse: {errCode: 5001}}\n",
        )
        .expect("valid");
        let case = &s.cases[0];
        assert_eq!(case.command, "callbackBeforeSendSingleMsgCommand");
        assert_eq!(
            case.rpc,
            "/openim.policy.v1.MessageService/BeforeSendSingleMsg"
        );
        assert_eq!(case.kind, Kind::Before);
        let body = String::from_utf8(case.body.clone()).expect("utf-8");
        assert!(body.contains(r#"{\"content\":\"a scam\"}"#), "{body}");
        assert_eq!(
            case.expect,
            Expect::Refuse {
                err_code: 5001,
                err_msg: None,
                err_dlt: None
            }
        );
        assert_eq!(case.policy, PolicyAnswer::Ok);
    }

    #[test]
    fn a_replacement_that_is_not_in_the_fixture_is_an_error() {
        let err = parse(
            "cases:\n  - name: r\n    fixture: FIXTURES/callbackBeforeSendSingleMsgCommand.json\n    \
             replace: [{from: nowhere, to: x}]\n    expect: continue\n",
        )
        .expect_err("invalid");
        assert!(
            err.to_string()
                .contains("\"nowhere\" is not in the fixture"),
            "{err}"
        );
    }

    #[test]
    fn counted_is_only_for_after_callbacks_and_they_cannot_refuse() {
        let before = parse(
            "cases:\n  - name: b\n    fixture: FIXTURES/callbackBeforeSendSingleMsgCommand.json\n    \
             expect: counted\n",
        );
        assert!(before.is_err());
        let after = parse(
            "cases:\n  - name: a\n    fixture: FIXTURES/callbackAfterSendSingleMsgCommand.json\n    \
             expect: {refuse: {errCode: 1}}\n",
        );
        assert!(after.is_err());
        let ok = parse(
            "cases:\n  - name: a\n    fixture: FIXTURES/callbackAfterSendSingleMsgCommand.json\n    \
             expect: counted\n",
        )
        .expect("valid");
        assert_eq!(ok.cases[0].kind, Kind::After);
    }

    #[test]
    fn unknown_commands_and_keys_are_errors() {
        assert!(
            parse("cases:\n  - name: u\n    fixture: FIXTURES/README.md\n    expect: continue\n")
                .is_err()
        );
        assert!(
            parse(
                "cases:\n  - name: k\n    fixture: FIXTURES/callbackBeforeSendSingleMsgCommand.json\n    \
                 expect: continue\n    extra: 1\n"
            )
            .is_err()
        );
    }
}
