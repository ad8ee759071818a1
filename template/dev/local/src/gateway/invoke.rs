//! Lambda's Invoke API for the services' workers: a synchronous call, or an `Event` queued,
//! retried and sent to its on-failure destination as Lambda does.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::{Shared, aws_error, call, delay, to_json};
use crate::runtime::Function;

/// Lambda retries a failed asynchronous invocation after about one minute, then two; here
/// after a second, so a retry (were one declared) shows within a test.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// `Invoke`: a worker by name, partial ARN or ARN (any qualifier ignored).
pub(super) async fn lambda_invoke(
    State(shared): State<Arc<Shared>>,
    Path(function_name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // An SDK never sends Origin; a browser always does across origins. Refused, so a web page
    // cannot run the workers (with `--bedrock aws`, on the developer's account).
    if headers.contains_key(header::ORIGIN) {
        return aws_error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "the local Invoke API serves the stack's own functions, not browsers",
        );
    }
    let name = function_name
        .rsplit_once("function:")
        .map_or(function_name.as_str(), |(_, name)| name);
    let name = name.split(':').next().unwrap_or_default();
    let Some(worker) = shared
        .gateway
        .workers
        .iter()
        .find(|w| w.spec.function == name)
    else {
        let known: Vec<&str> = shared
            .gateway
            .workers
            .iter()
            .map(|w| w.spec.function.as_str())
            .collect();
        let message = format!(
            "Function not found: {function_name}; the local stack serves its services' workers: {}",
            known.join(", ")
        );
        return aws_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", &message);
    };
    let invocation_type = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    match invocation_type {
        "Event" => {
            let copies = if shared.gateway.deliver_events_twice {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let queued = Queued {
                    spec: worker.spec.clone(),
                    function: worker.function.clone(),
                    on_failure: worker.on_failure.clone(),
                    latency: shared.gateway.latencies.invoke,
                };
                tokio::spawn(queued.run(body.clone()));
            }
            StatusCode::ACCEPTED.into_response()
        }
        "RequestResponse" => {
            delay(shared.gateway.latencies.invoke).await;
            match call(&worker.function, body.to_vec()).await {
                Ok(payload) => (StatusCode::OK, payload).into_response(),
                // A failed function is still a successful Invoke call, flagged in a header.
                Err(error) => (
                    StatusCode::OK,
                    [("x-amz-function-error", "Unhandled")],
                    json!({ "errorType": error.kind, "errorMessage": error.message }).to_string(),
                )
                    .into_response(),
            }
        }
        "DryRun" => StatusCode::NO_CONTENT.into_response(),
        other => aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            &format!("InvocationType {other} is not Event, RequestResponse or DryRun"),
        ),
    }
}

/// An asynchronous invocation in Lambda's queue.
struct Queued {
    spec: crate::discover::Worker,
    function: Arc<Function>,
    on_failure: Option<Arc<Function>>,
    latency: Duration,
}

impl Queued {
    /// Runs the event as Lambda does: it waits for an instance no longer than the maximum
    /// event age, a failure is retried as configured, and the last failure's record goes to
    /// the on-failure destination, if there is one
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>).
    async fn run(self, event: Bytes) {
        let queued = std::time::Instant::now();
        let mut attempts = 0u32;
        let (condition, error) = loop {
            delay(self.latency).await;
            let age_left = self.spec.max_event_age.saturating_sub(queued.elapsed());
            let outcome = match self.function.invoke_within(event.to_vec(), age_left).await {
                None => break ("EventAgeExceeded", None),
                Some(Ok(invocation)) => invocation.collect().await,
                Some(Err(error)) => Err(error),
            };
            attempts += 1;
            match outcome {
                Ok(_) => return,
                Err(error) if attempts > self.spec.retries => {
                    break ("RetriesExhausted", Some(error));
                }
                Err(_) => tokio::time::sleep(RETRY_DELAY).await,
            }
        };
        let record = json!({
            "version": "1.0",
            "requestContext": {
                "functionArn": format!("arn:aws:lambda:local:000000000000:function:{}:$LATEST", self.spec.function),
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": serde_json::from_slice::<Value>(&event)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&event).into_owned())),
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "responsePayload": error.map(|e| json!({ "errorType": e.kind, "errorMessage": e.message })),
        });
        // The destination is invoked asynchronously too; what it does is its own business.
        // Without one, Lambda discards the event.
        if let Some(destination) = &self.on_failure {
            let _ = call(destination, to_json(&record)).await;
        }
    }
}
