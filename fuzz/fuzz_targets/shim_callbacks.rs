//! Every callback's decoding of OpenIM's body, and its reply to any policy response: never a
//! panic, and every reply (the policy's decision, and the continue used when there is none) is
//! one JSON object of OpenIM's reply struct with Go's types, read the same by every server
//! version. Input: `<command>\n<body>\0<protobuf policy response>` (see
//! `openim_fuzz::split_callback_input`).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use openim_fuzz::{Handler, handlers, split_callback_input};

static HANDLERS: LazyLock<Vec<Handler>> = LazyLock::new(handlers);

fuzz_target!(|data: &[u8]| {
    let Some((handler, body, response)) = split_callback_input(&HANDLERS, data) else {
        return;
    };
    if let Err(e) = (handler.run)(body, response) {
        panic!(
            "{}: {e}\nbody: {}",
            handler.rpc,
            String::from_utf8_lossy(body)
        );
    }
});
