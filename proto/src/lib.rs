//! The `openim.policy.v1` contract: generated message types, clients and servers.
//!
//! The `.proto` files under `proto/openim/policy/v1/` are the source of truth and carry the
//! documentation of every callback, field and reply rule. Other crates import this one as
//! `use policy_proto::v1 as pb;`.

pub mod raw;

/// Generated code of package `openim.policy.v1`.
pub mod v1 {
    #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    tonic::include_proto!("openim.policy.v1");
}

/// Encoded `FileDescriptorSet` of the contract, with comments; used for gRPC server reflection
/// and to check that RPC paths named elsewhere exist.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/openim_policy_v1.bin"));
