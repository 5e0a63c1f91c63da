//! The policy service as gRPC tooling sees it: `grpc.health.v1`, and server reflection in both
//! versions (v1 for grpcurl, v1alpha for clients such as Python's `grpcio-reflection`).

use openim_policy::{Passthrough, Policy};
use openim_tests::spawn_policy;
use tokio_stream::StreamExt as _;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

async fn channel(url: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn health_reports_every_service_as_serving() {
    let policy = spawn_policy(Policy::new(Passthrough)).await;
    let mut health = HealthClient::new(channel(&policy.url()).await);
    for service in [
        "",
        "openim.policy.v1.MessageService",
        "openim.policy.v1.PushService",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    policy.stop().await;
}

/// A client watching health (a mesh sidecar, `grpc-health-probe -watch`) must not hold a
/// graceful shutdown: it sees NOT_SERVING, its stream ends, and the server stops.
#[tokio::test]
async fn a_health_watcher_sees_not_serving_and_does_not_hold_shutdown() {
    let policy = spawn_policy(Policy::new(Passthrough)).await;
    let mut health = HealthClient::new(channel(&policy.url()).await);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "openim.policy.v1.MessageService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.next().await.unwrap().unwrap().status;
    assert_eq!(first, ServingStatus::Serving as i32);

    // Bounded only so that a regression fails instead of hanging the suite.
    let stopped = tokio::spawn(policy.stop());
    let mut seen = Vec::new();
    while let Some(Ok(update)) =
        tokio::time::timeout(std::time::Duration::from_secs(30), watch.next())
            .await
            .expect("the watch stream ends at shutdown")
    {
        seen.push(update.status);
    }
    assert_eq!(seen, [ServingStatus::NotServing as i32]);
    tokio::time::timeout(std::time::Duration::from_secs(30), stopped)
        .await
        .expect("graceful shutdown completes while a client still holds the connection")
        .unwrap();
}

macro_rules! list_services {
    ($version:ident, $url:expr) => {{
        use tonic_reflection::pb::$version::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let mut client = ServerReflectionClient::new(channel(&$url).await);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let response = responses.next().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("unexpected reflection response");
        };
        let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        names.sort();
        names
    }};
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_contract() {
    let policy = spawn_policy(Policy::new(Passthrough)).await;
    let v1 = list_services!(v1, policy.url());
    let v1alpha = list_services!(v1alpha, policy.url());
    for names in [&v1, &v1alpha] {
        for s in [
            "grpc.health.v1.Health",
            "openim.policy.v1.MessageService",
            "openim.policy.v1.PushService",
        ] {
            assert!(names.iter().any(|n| n == s), "{s} not in {names:?}");
        }
    }
    policy.stop().await;
}
