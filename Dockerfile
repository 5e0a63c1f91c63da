# syntax=docker/dockerfile:1
# Images of the two binaries, one build stage for both:
#   docker build --target shim   -t openim-shim:0.1.0   .
#   docker build --target policy -t openim-policy:0.1.0 .
# Runtime: distroless (glibc and libgcc, no shell, no package manager), user 65532, a root file
# system that can be mounted read-only: each binary writes only under /var/lib/<binary> (mount a
# volume there) and, in the sidecar shape, the policy's socket under /run/openim. Probes need no
# shell: HTTP /healthz and /readyz on the shim, Kubernetes' gRPC probe (grpc.health.v1) on the
# policy. Linted by hadolint in scripts/test; deploy/helm/openim-policy runs these images.

# The builder's Debian (bookworm) is the runtime's (distroless cc-debian12), so the binaries'
# glibc is the one they run on.
ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src
COPY . .
# The cache mounts keep crates and build output between builds (BuildKit); the binaries are
# copied out of the cached target directory, which is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p openim-shim -p openim-policy \
    && mkdir -p /out/bin \
    && cp target/release/openim-shim target/release/openim-policy /out/bin/ \
    && mkdir -p /out/var/lib/openim-shim /out/var/lib/openim-policy /out/run/openim

# openim-shim: OpenIM's callbacks on 10006 (HTTP), /healthz, /readyz, /policyz, /metrics.
# The working directory is its data directory: the default spool (./data/spool) is there, on the
# volume, even without `spool.dir` (the Helm chart sets /var/lib/openim-shim/spool).
FROM gcr.io/distroless/cc-debian12:nonroot AS shim
COPY --from=builder /out/bin/openim-shim /usr/local/bin/openim-shim
COPY --from=builder --chown=65532:65532 /out/var/lib/openim-shim /var/lib/openim-shim
COPY --from=builder --chown=65532:65532 /out/run/openim /run/openim
WORKDIR /var/lib/openim-shim
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
EXPOSE 10006
ENTRYPOINT ["/usr/local/bin/openim-shim"]

# openim-policy: gRPC on 50051 (with grpc.health.v1 for Kubernetes' gRPC probe). Rules are
# mounted (e.g. /etc/openim-policy/rules.yaml, `--rules`); point the rules' `audit.path` at
# /var/lib/openim-policy, the writable volume.
FROM gcr.io/distroless/cc-debian12:nonroot AS policy
COPY --from=builder /out/bin/openim-policy /usr/local/bin/openim-policy
COPY --from=builder --chown=65532:65532 /out/var/lib/openim-policy /var/lib/openim-policy
COPY --from=builder --chown=65532:65532 /out/run/openim /run/openim
WORKDIR /var/lib/openim-policy
USER 65532:65532
EXPOSE 50051
ENTRYPOINT ["/usr/local/bin/openim-policy"]
