//! A local API Gateway Management API (`POST /{stage}/@connections/{id}`) for the tests and
//! the benchmark: records the frames of each connection, answers each post after a set
//! latency, and answers 410 `GoneException` for a connection that left. Beside it, Lambda's
//! Invoke API (`POST /2015-03-31/functions/{name}/invocations`), which records what the
//! connection function hands over, for the test to run as Lambda would. And DynamoDB's
//! `PutItem` (AWS JSON 1.0 at `POST /`), in memory, for the generation function's ledger.

#![allow(dead_code)] // the tests and the benchmark each use their own part

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_apigatewaymanagement::config::{BehaviorVersion, Credentials, Region};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
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
    /// Invoke calls received and not yet taken.
    pub invocations: Mutex<Vec<Invoked>>,
    /// Answer every Invoke call with 429 `TooManyRequestsException`.
    pub throttle_invokes: Mutex<bool>,
    /// The ledger's records, by the key its conditions name.
    pub records: Mutex<HashMap<String, Value>>,
    /// `PutItem` calls received, and those refused by their condition.
    pub puts: Mutex<(usize, usize)>,
    /// Answer every `PutItem` with DynamoDB's 500 `InternalServerError`.
    pub fail_ledger: Mutex<bool>,
    /// Make the next `PutItem`'s write, then answer it 500 as if the answer were lost.
    pub lose_next_put_answer: Mutex<bool>,
    latency: Duration,
}

/// One call of Lambda's Invoke API.
#[derive(Debug, Clone)]
pub struct Invoked {
    /// The function named in the path.
    pub function: String,
    /// `X-Amz-Invocation-Type` (`RequestResponse` when absent, as in Lambda).
    pub invocation_type: String,
    /// The event.
    pub payload: Value,
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

    /// The Invoke calls received since the last time this was called.
    pub fn take_invocations(&self) -> Vec<Invoked> {
        std::mem::take(&mut *self.invocations.lock().expect("lock"))
    }
}

async fn invoke(
    State(gw): State<Arc<Gateway>>,
    Path(function): Path<String>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    if *gw.throttle_invokes.lock().expect("lock") {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("x-amzn-errortype", "TooManyRequestsException")],
            "{\"message\":\"Rate Exceeded.\"}".to_string(),
        );
    }
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_string();
    gw.invocations.lock().expect("lock").push(Invoked {
        function,
        invocation_type,
        payload: serde_json::from_str(&body).expect("events are JSON"),
    });
    (
        StatusCode::ACCEPTED,
        [("content-type", "application/json")],
        String::new(),
    )
}

/// DynamoDB's `PutItem`, with the one condition the ledger writes, `attribute_not_exists` of
/// the key; a refused write answers as DynamoDB does, 400 with the type in `__type` and, when
/// asked (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), the record that stopped it
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html>).
async fn dynamodb(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    let error = |status: StatusCode, kind: &str, extra: Value| {
        let mut body = serde_json::json!({ "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": kind });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        (
            status,
            [("content-type", "application/x-amz-json-1.0")],
            body.to_string(),
        )
    };
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    assert_eq!(
        target,
        Some("DynamoDB_20120810.PutItem"),
        "the ledger only puts"
    );
    if *gw.fail_ledger.lock().expect("lock") {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            Value::Null,
        );
    }
    let request: Value = serde_json::from_str(&body).expect("requests are JSON");
    let condition = request["ConditionExpression"]
        .as_str()
        .expect("a conditional put");
    let name = condition
        .strip_prefix("attribute_not_exists(")
        .and_then(|rest| rest.strip_suffix(')'))
        .expect("attribute_not_exists(#key)");
    let key_name = request["ExpressionAttributeNames"][name]
        .as_str()
        .unwrap_or(name);
    let key = request["Item"][key_name]["S"]
        .as_str()
        .expect("a string key")
        .to_string();
    let mut records = gw.records.lock().expect("lock");
    let mut puts = gw.puts.lock().expect("lock");
    puts.0 += 1;
    if let Some(old) = records.get(&key) {
        puts.1 += 1;
        let item = if request["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD" {
            serde_json::json!({ "Item": old, "message": "The conditional request failed" })
        } else {
            serde_json::json!({ "message": "The conditional request failed" })
        };
        return error(
            StatusCode::BAD_REQUEST,
            "ConditionalCheckFailedException",
            item,
        );
    }
    records.insert(key, request["Item"].clone());
    if std::mem::take(&mut *gw.lose_next_put_answer.lock().expect("lock")) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            Value::Null,
        );
    }
    (
        StatusCode::OK,
        [("content-type", "application/x-amz-json-1.0")],
        "{}".to_string(),
    )
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
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .route("/", post(dynamodb))
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

/// A Lambda client whose Invoke calls reach the gateway at `stage_url` (from [`start`]).
pub fn lambda_client(stage_url: &str) -> aws_sdk_lambda::Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(stage_url.trim_end_matches("/dev"))
        .build();
    aws_sdk_lambda::Client::from_conf(config)
}

/// A DynamoDB client whose calls reach the gateway at `stage_url` (from [`start`]).
pub fn dynamodb_client(stage_url: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(stage_url.trim_end_matches("/dev"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}
