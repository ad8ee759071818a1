//! A local API Gateway Management API (`POST /{stage}/@connections/{id}`) for the tests and
//! the benchmark: records the frames of each connection, answers each post after a set
//! latency, and answers 410 `GoneException` for a connection that left.

#![allow(dead_code)] // the tests and the benchmark each use their own part

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_apigatewaymanagement::config::{BehaviorVersion, Credentials, Region};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::Value;

/// The gateway's state, shared with the server task.
#[derive(Default)]
pub struct Gateway {
    /// Frames delivered, per connection id.
    pub frames: Mutex<HashMap<String, Vec<Value>>>,
    /// Connections that leave after this many frames.
    pub gone_after: Mutex<HashMap<String, usize>>,
    /// Posts answered 410.
    pub posts_after_gone: Mutex<usize>,
    /// When each frame was delivered, per connection id (the benchmark times posts with it).
    pub delivered_at: Mutex<HashMap<String, Vec<Instant>>>,
    latency: Duration,
}

impl Gateway {
    /// Frames delivered to `connection` so far.
    pub fn frames(&self, connection: &str) -> Vec<Value> {
        self.frames
            .lock()
            .expect("lock")
            .get(connection)
            .cloned()
            .unwrap_or_default()
    }
}

async fn post_to_connection(
    State(gw): State<Arc<Gateway>>,
    Path(id): Path<String>,
    body: String,
) -> impl IntoResponse {
    tokio::time::sleep(gw.latency).await;
    let delivered = gw.frames.lock().expect("lock").get(&id).map_or(0, Vec::len);
    if gw
        .gone_after
        .lock()
        .expect("lock")
        .get(&id)
        .is_some_and(|limit| delivered >= *limit)
    {
        *gw.posts_after_gone.lock().expect("lock") += 1;
        return (
            StatusCode::GONE,
            [("x-amzn-errortype", "GoneException")],
            "{\"message\":\"Gone\"}".to_string(),
        );
    }
    assert!(
        body.len() <= realtime_ws::MAX_FRAME_BYTES,
        "frame of {} bytes",
        body.len()
    );
    let frame: Value = serde_json::from_str(&body).expect("frames are JSON");
    gw.delivered_at
        .lock()
        .expect("lock")
        .entry(id.clone())
        .or_default()
        .push(Instant::now());
    gw.frames
        .lock()
        .expect("lock")
        .entry(id)
        .or_default()
        .push(frame);
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        String::new(),
    )
}

/// Starts a gateway answering each post after `latency`; returns it and its stage URL
/// (the endpoint an SDK client is given).
pub async fn start(latency: Duration) -> (Arc<Gateway>, String) {
    let gateway = Arc::new(Gateway {
        latency,
        ..Gateway::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/dev", listener.local_addr().expect("addr"));
    let router = Router::new()
        .route("/dev/@connections/{id}", post(post_to_connection))
        .with_state(gateway.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (gateway, url)
}

/// Management API client settings with static test credentials; the endpoint comes later.
pub fn client_base() -> aws_sdk_apigatewaymanagement::config::Builder {
    aws_sdk_apigatewaymanagement::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
}
