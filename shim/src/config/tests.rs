//! The settings as users give them: the documented defaults, the precedence of the sources and
//! of the sections, one name per setting, and errors that say what to fix and where.

use std::collections::BTreeSet;

use clap::Parser as _;
use openim_common::Duration as D;

use super::{file::keys, sources::*, *};

const EXAMPLE: &str = include_str!("../../../examples/shim.yaml");

type Env<'a> = &'a [(&'a str, &'a str)];

/// Loads the flags `args`, the config file `yaml` (if any) and the environment `env`.
fn load(args: &[&str], yaml: Option<&str>, env: Env) -> Result<Loaded, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shim.yaml");
    let mut argv = vec!["openim-shim".to_owned()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    if let Some(yaml) = yaml {
        std::fs::write(&path, yaml).unwrap();
        argv.extend(["--config".into(), path.display().to_string()]);
    }
    let env = env.iter().map(|(k, v)| (k.into(), v.into()));
    Args::try_parse_from(argv).unwrap().load(env)
}

/// Each callback's settings in one line (`on 1s continue 30s`), by config key.
fn callbacks(args: &[&str], yaml: Option<&str>, env: Env) -> BTreeMap<&'static str, String> {
    let s = load(args, yaml, env).unwrap().settings;
    let line = |c: &Command| {
        let c = s.callback(c);
        let on_error = match c.on_error {
            OnError::Continue => "continue".to_owned(),
            OnError::Refuse { err_code, err_msg } => format!("refuse {err_code} {err_msg:?}"),
        };
        let (timeout, ttl) = (D(c.timeout), D(c.unimplemented_ttl));
        let enable = ["off", "on"][usize::from(c.enable)];
        format!("{enable} {timeout} {on_error} {ttl}")
    };
    COMMANDS.iter().map(|c| (c.config_key, line(c))).collect()
}

/// `--help` and the example file (below) show the defaults; the rest is checked here.
#[test]
fn defaults_are_the_documented_ones() {
    // The binary spools on disk by default; library users choose.
    let spool = load(&[], None, &[]).unwrap().settings.spool.dir;
    assert_eq!(spool, Some(DEFAULT_SPOOL_DIR.into()));
    assert_eq!(Settings::default().spool.dir, None);
    // `--help` shows each flag's default: giving it explicitly changes nothing.
    let defaults = format!("{:?}", load(&[], None, &[]).unwrap());
    // A flag without a default ("none") has nothing to give explicitly.
    for f in FLAGS.iter().filter(|f| f.default != "none") {
        let l = load(&[&format!("--{}", f.long), f.default], None, &[]).unwrap();
        assert_eq!(format!("{l:?}"), defaults, "--{}", f.long);
    }
}

#[test]
fn flags_win_over_environment_variables_which_win_over_the_file() {
    let yaml = Some("before: {timeout: 2s}");
    let env = [("OPENIM_SHIM_BEFORE_TIMEOUT", "3s")];
    let timeout = |args, yaml, env| D(load(args, yaml, env).unwrap().settings.timeout);
    for (want, args, yaml, env) in [
        ("1s", &[][..], None, &[][..]),
        ("2s", &[], yaml, &[]),
        ("3s", &[], yaml, &env),
        ("4s", &["--timeout", "4s"], yaml, &env),
    ] {
        assert_eq!(timeout(args, yaml, env).to_string(), want);
    }
    // One grammar wherever a setting is set: hours, which flags did not take before.
    let env = [("OPENIM_SHIM_AFTER_TIMEOUT", "1h")];
    for (args, env) in [(&["--after-timeout", "1h"][..], &[][..]), (&[], &env)] {
        let after = load(args, None, env).unwrap().settings.after_timeout;
        assert_eq!(after.as_secs(), 3600);
    }
}

#[test]
fn the_most_specific_section_wins_whichever_source_set_it() {
    let yaml = "default: {errMsg: busy, timeout: 9s}\n\
                before: {onError: refuse, unimplementedTtl: 5s}\n\
                beforeSendGroupMsg: {onError: continue, timeout: 300ms}\n\
                beforeMsgModify: {errCode: 5900, enable: false}\n\
                afterSendGroupMsg: {timeout: 2s}\n";
    let flags = ["--timeout", "700ms", "--on-error-code", "5100"];
    let got = callbacks(&flags, Some(yaml), &[("OPENIM_SHIM_AFTER_ENABLE", "false")]);
    for (key, want) in [
        ("beforeSendSingleMsg", r#"on 700ms refuse 5100 "busy" 5s"#),
        // Its own section in the file wins over the flag's `before.timeout`.
        ("beforeSendGroupMsg", "on 300ms continue 5s"),
        ("beforeMsgModify", r#"off 700ms refuse 5900 "busy" 5s"#),
        ("afterSendGroupMsg", "off 2s continue 30s"),
        // `default` serves what neither the callback's section nor its kind's sets.
        ("afterSendSingleMsg", "off 9s continue 30s"),
    ] {
        assert_eq!(got[key], want, "{key}");
    }
}

#[test]
fn every_setting_has_one_environment_variable_named_after_its_key() {
    let keys = keys();
    for key in "listen before.timeout spool.maxEvents afterSendSingleMsg.enable".split(' ') {
        assert!(keys.contains(&key.to_owned()), "{keys:?}");
    }
    // OpenIM's keys are accepted in the file but are not settings.
    assert!(!keys.iter().any(|k| k.ends_with("failedContinue")));
    assert_eq!(env_name("spool.maxEvents"), "OPENIM_SHIM_SPOOL_MAXEVENTS");
    let names: BTreeSet<_> = keys.iter().map(|k| env_name(k)).collect();
    assert_eq!(names.len(), keys.len(), "two keys share a variable");

    let env = [
        ("OPENIM_SHIM_BEFORESENDSINGLEMSG_TIMEOUT", "3s"),
        ("OPENIM_SHIM_AFTERSENDSINGLEMSG_ENABLE", "false"),
        ("OPENIM_SHIM_SPOOL_ENABLED", "false"),
        ("OPENIM_SHIM_AFTER_CONCURRENCY", "3"),
        ("OPENIM_SHIM_MAXBODY", "64KiB"),
        ("OPENIM_SHIM_DEFAULT_ERRMSG", "busy: try again # later"),
        ("OPENIM_SHIM_DEFAULT_ONERROR", "refuse"),
    ];
    let yaml = Some("beforeSendSingleMsg: {timeout: 2s}\nspool: {maxEvents: 10}\n");
    let got = callbacks(&[], yaml, &env);
    let busy = r#"refuse 5000 "busy: try again # later""#;
    assert_eq!(got["beforeSendSingleMsg"], format!("on 3s {busy} 30s"));
    assert_eq!(got["afterSendSingleMsg"], format!("off 5s {busy} 30s"));
    let s = load(&[], yaml, &env).unwrap().settings;
    let got = [
        s.spool.max_events as usize,
        s.after_concurrency,
        s.max_body_bytes,
    ];
    assert_eq!((s.spool.dir, got), (None, [10, 3, 64 << 10]));
}

/// The example file is the users' reference: it explains every setting, with its default; its
/// per-callback sections mean what their comments say.
#[test]
fn the_example_config_documents_every_key_and_the_real_defaults() {
    for key in keys() {
        let field = key.rsplit('.').next().unwrap();
        assert!(EXAMPLE.contains(&format!("{field}:")), "{key}");
    }
    let mut example = load(&[], Some(EXAMPLE), &[]).unwrap();
    assert!(example.warnings.is_empty(), "{:?}", example.warnings);
    let mut got = callbacks(&[], Some(EXAMPLE), &[]);
    let single = got.remove("beforeSendSingleMsg").unwrap();
    let msg = "message not sent: moderation unavailable, try again";
    assert_eq!(single, format!("on 500ms refuse 5900 {msg:?} 30s"));
    let group = got.remove("beforeSendGroupMsg").unwrap();
    assert_eq!(group, "on 500ms continue 30s");
    let mut want = callbacks(&[], None, &[]);
    want.retain(|key, _| got.contains_key(key));
    assert_eq!(got, want);
    let mut defaults = load(&[], None, &[]).unwrap();
    (example.settings.callbacks, defaults.settings.callbacks) = Default::default();
    assert_eq!(format!("{example:?}"), format!("{defaults:?}"));
}

/// Settings refused: (`file`, a flag or a variable; its text; the key named; why; where).
#[rustfmt::skip]
const REFUSED: &[(&str, &str, &str, &str, &str)] = &[
    ("file", "beforeSendSingleMsg:\n  timeout: 16s", "beforeSendSingleMsg.timeout", "15 s cap", "shim.yaml, line 2)"),
    ("file", "default: {timeout: 16s}", "default.timeout", "15 s cap", "shim.yaml, line 1)"),
    ("file", "before:\n  enable: true\n  timeout: fast", "before.timeout", "not a duration", "shim.yaml, line 3)"),
    ("file", "beforeSendSingleMsg: {onError: ignore}", "beforeSendSingleMsg.onError", "continue, refuse", "shim.yaml, line 1)"),
    ("file", "beforeSendSingleMsg: {errCode: 0}", "beforeSendSingleMsg.errCode", "nonzero", "shim.yaml, line 1)"),
    ("file", "beforeSendSingleMsg: {enable: maybe}", "beforeSendSingleMsg.enable", "boolean", "shim.yaml, line 1)"),
    ("file", "beforeSendSingleMsg:\n  timeot: 1s", "beforeSendSingleMsg.timeot", "unknown field", "shim.yaml, line 2)"),
    ("file", "afterSendSingleMsg: {onError: refuse}", "afterSendSingleMsg.onError", "unknown field", "shim.yaml, line 1)"),
    ("file", "beforeSendSingleMsg: {concurrency: 4}", "beforeSendSingleMsg.concurrency", "unknown field", "shim.yaml, line 1)"),
    ("file", "after: {concurrency: 0}", "after.concurrency", "nonzero", "shim.yaml, line 1)"),
    ("file", "spool: {maxBytes: 1TB}", "spool.maxBytes", "unknown unit", "shim.yaml, line 1)"),
    ("file", "spool: {dir: ''}", "spool.dir", "not be empty", "shim.yaml, line 1)"),
    ("file", "listen: localhost", "listen", "socket address", "shim.yaml, line 1)"),
    ("file", "logFormat: xml", "logFormat", "expected one of text, json", "shim.yaml, line 1)"),
    ("file", "beforeSendSingleMsg: 5", "beforeSendSingleMsg", "mapping", "shim.yaml, line 1)"),
    ("file", "\nbeforeSendSingleMessage: {}", "beforeSendSingleMessage", "unknown key: not a setting", "shim.yaml, line 2)"),
    ("file", "BeforeSendSingleMsg: {}", "BeforeSendSingleMsg", "did you mean `beforeSendSingleMsg`?", "shim.yaml, line 1)"),
    ("file", "- a\n- b\n", "config file", "mapping", "shim.yaml, line 1)"),
    ("file", "beforeSendSingleMsg: {timeout: 1s", "beforeSendSingleMsg", "unclosed bracket", "shim.yaml, line 1)"),
    ("file", "after: {retryInitial: 10s}", "after.retryInitial", "10s is longer than after.retryMax (5s)", "(5s)"),
    ("OPENIM_SHIM_BEFORESENDGROUPMSG_TIMEOUT", "20s", "beforeSendGroupMsg.timeout", "20s is above OpenIM's 15 s cap: OpenIM would give up first", "(environment variable OPENIM_SHIM_BEFORESENDGROUPMSG_TIMEOUT)"),
    ("--timeout", "16s", "before.timeout", "16s is above OpenIM's 15 s cap", "(flag --timeout)"),
    ("--on-error-code", "0", "default.errCode", "invalid value: integer `0`, expected a nonzero i32", "(flag --on-error-code)"),
    ("file", "refuseCode: -5", "refuseCode", "-5 is negative: an errCode must be positive", "shim.yaml, line 1)"),
    ("file", "default: {errCode: -5001}", "default.errCode", "must be positive", "shim.yaml, line 1)"),
    ("--on-error", "sometimes", "default.onError", "unknown variant `sometimes`, expected one of continue, refuse", "(flag --on-error)"),
    ("OPENIM_SHIM_SPOOL_ENABLED", "maybe", "spool.enabled", "invalid boolean", "(environment variable OPENIM_SHIM_SPOOL_ENABLED)"),
    // Variables of earlier versions, refused: an ignored setting is worse than no start.
    ("OPENIM_SHIM_TIMEOUT", "2s", "before.timeout", "renamed: set OPENIM_SHIM_BEFORE_TIMEOUT instead", "(environment variable OPENIM_SHIM_TIMEOUT)"),
    ("OPENIM_SHIM_MAX_BODY", "1024", "maxBody", "renamed: set OPENIM_SHIM_MAXBODY instead", "(environment variable OPENIM_SHIM_MAX_BODY)"),
];

#[test]
fn errors_name_the_key_and_where_it_was_set_the_file_s_line_a_variable_or_a_flag() {
    for (source, text, key, why, origin) in REFUSED {
        let e = match *source {
            "file" => load(&[], Some(text), &[]),
            flag if flag.starts_with("--") => load(&[flag, text], None, &[]),
            var => load(&[], None, &[(var, text)]),
        };
        let e = e.unwrap_err().to_string();
        let want = format!("{key}: ");
        assert!(
            e.starts_with(&want) && e.contains(why) && e.contains(origin),
            "{text}: {e}"
        );
    }
    let e = Layer::read("/nonexistent/shim.yaml".as_ref()).unwrap_err();
    assert!(
        e.to_string().starts_with("config file: cannot read: "),
        "{e}"
    );
    assert!(Args::try_parse_from(["openim-shim", "--rules", "r.yaml"]).is_err());
}

#[test]
fn empty_files_set_nothing_openim_s_keys_are_ignored_and_strangers_warned_about() {
    let defaults = format!("{:?}", load(&[], None, &[]).unwrap());
    for yaml in ["", "# only a comment\n", "afterSendGroupMsg:\n"] {
        let loaded = load(&[], Some(yaml), &[]).unwrap();
        assert_eq!(format!("{loaded:?}"), defaults, "{yaml:?}");
    }
    let yaml = Some(
        "url: http://127.0.0.1:10006/callbackExample\n\
         beforeSendSingleMsg: {timeout: 5, failedContinue: true, deniedTypes: [1]}\n\
         afterSendGroupMsg: {allowedTypes: [], attentionIds: [a]}\n\
         afterGroupMsgRevoke: {enable: true, timeout: 5}\n",
    );
    let single = &callbacks(&[], yaml, &[])["beforeSendSingleMsg"];
    assert_eq!(single, "on 5s continue 30s");
    let env = "OPENIM_SHIM_BIN OPENIM_SHIM_CONFIG OPENIM_SHIM_WITH_POLICY".split(' ');
    let env: Vec<_> = env.map(|k| (k, "")).collect();
    let warnings = load(&[], yaml, &env).unwrap().warnings;
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("environment variable OPENIM_SHIM_BIN is not a setting"));
    assert!(warnings[1].starts_with("config key `afterGroupMsgRevoke` is an OpenIM callback"));
}

/// The capture and shadow sections: the same grammar from the file, a variable or a flag-less
/// list in one string; what cannot work is refused at start, naming the key.
#[test]
fn capture_and_shadow_settings_are_read_and_checked() {
    let yaml = "capture: {enabled: true, dir: /tmp/c, maxFileSize: 1MiB, sample: 0.25,\n  \
                commands: [beforeSendSingleMsg, afterSendSingleMsg]}\n\
                shadow: {targets: http://next:50051, timeout: 300ms, commands: [beforeSendGroupMsg]}\n";
    let env = [
        ("OPENIM_SHIM_CAPTURE_MAXTOTALSIZE", "10MiB"),
        ("OPENIM_SHIM_CAPTURE_HASHKEY", "0123456789abcdef"),
        ("OPENIM_SHIM_SHADOW_SAMPLE", "0.5"),
        (
            "OPENIM_SHIM_SHADOW_COMMANDS",
            "beforeSendSingleMsg, beforeMsgModify",
        ),
    ];
    let s = load(&[], Some(yaml), &env).unwrap().settings;
    let c = &s.capture;
    assert!(c.enabled);
    assert_eq!(c.dir, std::path::PathBuf::from("/tmp/c"));
    assert_eq!((c.max_file_bytes, c.max_total_bytes), (1 << 20, 10 << 20));
    assert_eq!(c.sample, 0.25);
    assert_eq!(c.commands, ["beforeSendSingleMsg", "afterSendSingleMsg"]);
    assert_eq!(c.hash_key.as_deref(), Some("0123456789abcdef"));
    assert!(
        !format!("{c:?}").contains("0123456789abcdef"),
        "the key in {c:?}"
    );
    let sh = &s.shadow;
    assert_eq!(sh.targets, ["http://next:50051"]);
    assert_eq!(
        (D(sh.timeout).to_string(), sh.sample),
        ("300ms".to_owned(), 0.5)
    );
    assert_eq!(sh.commands, ["beforeSendSingleMsg", "beforeMsgModify"]);
    // Off by default.
    let d = load(&[], None, &[]).unwrap().settings;
    assert!(!d.capture.enabled && d.shadow.targets.is_empty());

    for (yaml, key, why) in [
        ("capture: {sample: 1.5}", "capture.sample", "from 0"),
        (
            "capture: {commands: [beforeSendSingle]}",
            "capture.commands",
            "unknown callback",
        ),
        (
            "capture: {hashKey: short}",
            "capture.hashKey",
            "at least 16",
        ),
        (
            "capture: {maxFileSize: 2MiB, maxTotalSize: 1MiB}",
            "capture.maxTotalSize",
            "at least",
        ),
        (
            "shadow: {commands: [afterSendSingleMsg]}",
            "shadow.commands",
            "after-callback",
        ),
        ("shadow: {concurrency: 0}", "shadow.concurrency", "nonzero"),
    ] {
        let e = load(&[], Some(yaml), &[]).unwrap_err();
        assert_eq!(e.key, key, "{yaml}: {e}");
        assert!(e.to_string().contains(why), "{yaml}: {e}");
    }
}
