//! `descriptor-set PATH`: writes the contract's encoded `FileDescriptorSet` (with imports) to
//! PATH, for tools that need it as a file, such as Envoy's gRPC-JSON transcoder in the benchmark.

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: descriptor-set PATH"))?;
    std::fs::write(&path, policy_proto::FILE_DESCRIPTOR_SET)?;
    Ok(())
}
