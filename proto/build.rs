//! Generates the Rust code of the `openim.policy.v1` contract with `protox` (a pure-Rust protobuf
//! compiler), so that building needs no `protoc` on the machine.

use std::{env, fs, path::PathBuf};

use prost::Message as _;

/// Every `.proto` file of the contract; imports are resolved from `openim/..` under this crate.
const PROTOS: &[&str] = &[
    "openim/policy/v1/common.proto",
    "openim/policy/v1/message.proto",
    "openim/policy/v1/push.proto",
    "openim/policy/v1/user.proto",
    "openim/policy/v1/friend.proto",
    "openim/policy/v1/group.proto",
    "openim/policy/v1/conversation.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Source info keeps the proto comments in the descriptor set, so that server reflection
    // (grpcurl describe) shows them to policy authors.
    let fds = protox::Compiler::new(["."])?
        .include_source_info(true)
        .include_imports(true)
        .open_files(PROTOS)?
        .file_descriptor_set();

    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("openim_policy_v1.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        // Services of a policy that implements only some RPCs answer UNIMPLEMENTED for the rest,
        // which the shim reads as "continue".
        .generate_default_stubs(true)
        .compile_fds(fds)?;

    for p in PROTOS {
        println!("cargo:rerun-if-changed={p}");
    }
    Ok(())
}
