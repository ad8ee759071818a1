//! The API Gateway WebSocket API: `$connect`, messages and `$disconnect` as the events API
//! Gateway sends, and the Management API (`@connections`) the service answers through.

use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use genai::{ApiError, ErrorCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};

use super::proxy::ProxyResponse;
use super::{
    At, Shared, aws_error, call, delay, epoch_ms, error_response, host, internal_error, limits,
    lock, to_json,
};
use crate::runtime::Function;

fn websocket_event(
    route_key: &str,
    event_type: &str,
    connection_id: &str,
    host: &str,
) -> ApiGatewayWebsocketProxyRequest {
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    let context = &mut event.request_context;
    context.route_key = Some(route_key.into());
    context.event_type = Some(event_type.into());
    context.connection_id = Some(connection_id.into());
    context.domain_name = Some(host.into());
    context.stage = Some("local".into());
    context.apiid = Some("local".into());
    context.message_direction = Some("IN".into());
    context.request_time_epoch = epoch_ms();
    context.identity.source_ip = Some("127.0.0.1".into());
    event
}

/// Whether a read failed because a frame or message was over the limits the upgrade set, which
/// API Gateway answers by closing the connection with 1009. axum wraps tungstenite's error,
/// so the variant is read through the error's source rather than from its text.
fn over_size_limit(error: &axum::Error) -> bool {
    let source = std::error::Error::source(error).and_then(|e| e.downcast_ref::<WsError>());
    matches!(
        source,
        Some(WsError::Capacity(CapacityError::MessageTooLong { .. }))
    )
}

pub(super) async fn websocket(
    State(shared): State<Arc<Shared>>,
    Extension(at): Extension<At>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (service, function) = shared.service(at);
    let routes = service.routes.clone();
    let host = host(&headers);
    let connection_id = format!("local{:08}=", shared.next_id());
    let mut event = websocket_event("$connect", "CONNECT", &connection_id, &host);
    event.headers = headers;
    // $connect is synchronous: its status decides whether the socket opens.
    let connected = call(function, to_json(&event)).await.map(|body| {
        ProxyResponse::parse(&body)
            .and_then(|response| response.status)
            .unwrap_or(200)
    });
    match connected {
        Ok(status) if (200..300).contains(&status) => {}
        Ok(status) => {
            return StatusCode::from_u16(status)
                .unwrap_or(StatusCode::FORBIDDEN)
                .into_response();
        }
        Err(error) => return error_response(&internal_error(&error)),
    }
    let function = function.clone();
    upgrade
        .max_frame_size(limits::WS_FRAME_BYTES)
        .max_message_size(limits::WS_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection(shared, function, routes, socket, connection_id, host))
}

async fn connection(
    shared: Arc<Shared>,
    function: Arc<Function>,
    routes: Vec<String>,
    socket: WebSocket,
    connection_id: String,
    host: String,
) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    lock(&shared.connections).insert(connection_id.clone(), tx.clone());
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
    });
    loop {
        let message = match tokio::time::timeout(limits::WS_IDLE, stream.next()).await {
            Err(_) => {
                let _ = tx.send(Message::Close(Some(CloseFrame {
                    code: 1001,
                    reason: "Going away".into(),
                })));
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(error))) => {
                // API Gateway closes a connection whose frame or message is over its limit.
                if over_size_limit(&error) {
                    let _ = tx.send(Message::Close(Some(CloseFrame {
                        code: 1009,
                        reason: "Message too big".into(),
                    })));
                }
                break;
            }
            Ok(Some(Ok(message))) => message,
        };
        let (body, binary) = match message {
            Message::Text(text) => (text.as_str().as_bytes().to_vec(), false),
            Message::Binary(bytes) => (bytes.to_vec(), true),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
        // Route selection on $request.body.action: a declared route, else $default.
        let route_key = parsed["action"]
            .as_str()
            .filter(|action| routes.iter().any(|r| r == action))
            .unwrap_or("$default")
            .to_string();
        let request_id = parsed["requestId"].as_str().map(str::to_string);
        let mut event = websocket_event(&route_key, "MESSAGE", &connection_id, &host);
        if binary {
            event.body = Some(BASE64.encode(&body));
            event.is_base64_encoded = true;
        } else {
            event.body = Some(String::from_utf8_lossy(&body).into_owned());
        }
        let function = function.clone();
        let tx = tx.clone();
        let latency = shared.gateway.latencies.invoke;
        let gateway_request_id = format!("local-{}", shared.next_id());
        let connection_id = connection_id.clone();
        let error_frame = move |error: ApiError| json!({ "type": "error", "requestId": request_id, "payload": error });
        // Each message is its own synchronous invocation; the socket keeps reading meanwhile.
        tokio::spawn(async move {
            // Lambda runs on after API Gateway stops waiting, so the call is a task of its own.
            let mut invocation = tokio::spawn(async move {
                delay(latency).await;
                call(&function, to_json(&event)).await
            });
            let waited = tokio::time::timeout(limits::INTEGRATION_TIMEOUT, &mut invocation);
            let frame = match waited.await {
                Ok(Ok(Ok(_))) => return,
                // API Gateway's own frame, not the protocol's: what a client of the deployed
                // API gets from a route that outlives the integration timeout.
                Err(_) => json!({
                    "message": "Endpoint request timed out",
                    "connectionId": connection_id,
                    "requestId": gateway_request_id,
                }),
                Ok(Ok(Err(error))) => error_frame(internal_error(&error)),
                Ok(Err(join)) => {
                    error_frame(ApiError::new(ErrorCode::InternalError, join.to_string()))
                }
            };
            let _ = tx.send(Message::Text(frame.to_string().into()));
        });
    }
    lock(&shared.connections).remove(&connection_id);
    drop(tx);
    let _ = writer.await;
    let event = websocket_event("$disconnect", "DISCONNECT", &connection_id, &host);
    let _ = call(&function, to_json(&event)).await;
}

/// `POST @connections/{id}`: API Gateway Management API `PostToConnection`.
pub(super) async fn post_to_connection(
    State(shared): State<Arc<Shared>>,
    Path(connection_id): Path<String>,
    body: Bytes,
) -> Response {
    delay(shared.gateway.latencies.post).await;
    if body.len() > limits::WS_MESSAGE_BYTES {
        return aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeException",
            "Message too long",
        );
    }
    let sender = lock(&shared.connections).get(&connection_id).cloned();
    let message = match String::from_utf8(body.to_vec()) {
        Ok(text) => Message::Text(text.into()),
        Err(_) => Message::Binary(body),
    };
    match sender.map(|s| s.send(message)) {
        Some(Ok(())) => StatusCode::OK.into_response(),
        _ => aws_error(StatusCode::GONE, "GoneException", "Gone"),
    }
}

/// `DELETE @connections/{id}`: closes the connection.
pub(super) async fn delete_connection(
    State(shared): State<Arc<Shared>>,
    Path(connection_id): Path<String>,
) -> Response {
    let sender = lock(&shared.connections).remove(&connection_id);
    match sender {
        Some(sender) => {
            let _ = sender.send(Message::Close(None));
            StatusCode::NO_CONTENT.into_response()
        }
        None => aws_error(StatusCode::GONE, "GoneException", "Gone"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_limit_error_is_told_by_its_type_not_its_text() {
        let too_long = CapacityError::MessageTooLong {
            size: limits::WS_FRAME_BYTES + 1,
            max_size: limits::WS_FRAME_BYTES,
        };
        assert!(over_size_limit(&axum::Error::new(WsError::Capacity(
            too_long
        ))));
        assert!(!over_size_limit(&axum::Error::new(WsError::Utf8(
            "invalid".into()
        ))));
        assert!(!over_size_limit(&axum::Error::new(std::io::Error::other(
            "Message too long"
        ))));
    }
}
