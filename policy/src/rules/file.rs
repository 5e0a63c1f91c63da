//! The rules file: format, parsing and validation. Keys are camelCase, like OpenIM's own YAML
//! configuration.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A rules file that could not be used, with enough detail to fix it.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file could not be read.
    #[error("cannot read rules file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid YAML, or not the expected shape; the message names the line and key.
    #[error("invalid rules file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Parser message, with line and column.
        message: String,
    },
    /// Well-formed, but a value is not acceptable.
    #[error("invalid rules: {key}: {message}")]
    Invalid {
        /// Path of the offending key, e.g. `wordLists[1].errCode`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole rules file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RulesFile {
    /// Sensitive-word lists.
    #[serde(default)]
    pub word_lists: Vec<WordListSpec>,
    /// Push rules.
    #[serde(default)]
    pub push: Option<PushSpec>,
}

/// One sensitive-word list.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WordListSpec {
    /// Name, used in logs and in the refusal detail.
    pub name: String,
    /// What a match does.
    pub action: ActionSpec,
    /// Masking character, for `action: mask` (default `*`): each matched character becomes one.
    #[serde(default)]
    pub mask: Option<char>,
    /// errCode of the refusal, for `action: refuse` (default 5001).
    #[serde(default)]
    pub err_code: Option<i32>,
    /// errMsg of the refusal, for `action: refuse`.
    #[serde(default)]
    pub err_msg: Option<String>,
    /// The words; matched case-insensitively.
    pub words: Vec<String>,
}

/// What a word list does with a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionSpec {
    /// Replace the match in the message (through msg-modify).
    Mask,
    /// Refuse the message (before-send and msg-modify).
    Refuse,
}

/// Push rules.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushSpec {
    /// New title of every offline push.
    #[serde(default)]
    pub title: Option<String>,
}

impl RulesFile {
    /// Reads and parses a rules file (validation happens when the engine is built).
    pub fn from_path(path: &Path) -> Result<Self, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|message| RulesError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses rules from YAML text; an empty document is an empty rule set.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }
}
