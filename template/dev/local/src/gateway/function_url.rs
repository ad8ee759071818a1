//! The Function URL in front of the SSE strategy: the payload 2.0 event, and a streamed
//! response read from its HTTP integration prelude onwards.

use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::query_map::QueryMap;
use axum::Extension;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use genai::{ApiError, ErrorCode};
use serde_json::{Value, json};

use super::{
    At, Shared, delay, epoch_ms, error_response, event_body, host, internal_error, proxy,
    request_body, to_json,
};
use crate::runtime::Invocation;

pub(super) async fn function_url(
    State(shared): State<Arc<Shared>>,
    Extension(at): Extension<At>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (_, function) = shared.service(at);
    let (parts, body) = request.into_parts();
    let body = match request_body(body).await {
        Ok(body) => body,
        Err(too_large) => return too_large,
    };
    let event = function_url_event(&parts.method, &parts.uri, &parts.headers, &body, peer);
    delay(shared.gateway.latencies.invoke).await;
    match function.invoke(to_json(&event)).await {
        Ok(invocation) if invocation.streaming => streamed(invocation).await,
        Ok(invocation) => match invocation.collect().await {
            Ok(body) => proxy::respond(&body),
            Err(error) => error_response(&internal_error(&error)),
        },
        Err(error) => error_response(&internal_error(&error)),
    }
}

fn function_url_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    peer: SocketAddr,
) -> ApiGatewayV2httpRequest {
    let mut event = ApiGatewayV2httpRequest::default();
    let query = uri.query().unwrap_or_default();
    event.version = Some("2.0".into());
    event.route_key = Some("$default".into());
    event.raw_path = Some(uri.path().into());
    event.raw_query_string = Some(query.into());
    event.query_string_parameters = query.parse::<QueryMap>().unwrap_or_default();
    event.headers = headers.clone();
    (event.body, event.is_base64_encoded) = event_body(body);
    let context = &mut event.request_context;
    context.route_key = Some("$default".into());
    context.stage = Some("$default".into());
    context.account_id = Some("anonymous".into());
    context.apiid = Some("local".into());
    context.domain_name = Some(host(headers));
    context.time_epoch = epoch_ms();
    context.http.method = method.clone();
    context.http.path = Some(uri.path().into());
    context.http.protocol = Some("HTTP/1.1".into());
    context.http.source_ip = Some(peer.ip().to_string());
    context.http.user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    event
}

/// Reads the HTTP integration prelude (`{statusCode, headers, cookies}` then eight NUL
/// bytes) and streams the rest of the body to the client as it arrives.
async fn streamed(mut invocation: Invocation) -> Response {
    const DELIMITER: &[u8] = &[0; 8];
    let mut head = Vec::new();
    let rest = loop {
        match invocation.body.recv().await {
            Some(Ok(chunk)) => {
                head.extend_from_slice(&chunk);
                if let Some(at) = head.windows(8).position(|w| w == DELIMITER) {
                    break head.split_off(at + 8)[..].to_vec();
                }
            }
            Some(Err(error)) => return error_response(&internal_error(&error)),
            None => {
                return error_response(&ApiError::new(
                    ErrorCode::InternalError,
                    "the function's streamed response had no HTTP prelude",
                ));
            }
        }
    };
    // The prelude has a proxy response's statusCode and headers but no multi-value headers,
    // so it is read field by field rather than as a whole proxy response.
    let prelude: Value = serde_json::from_slice(&head[..head.len() - 8]).unwrap_or_default();
    let Ok(status) = StatusCode::from_u16(proxy::status_code(&prelude).unwrap_or(200)) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut headers = HeaderMap::new();
    proxy::copy_headers(&prelude["headers"], &mut headers);
    let first = (!rest.is_empty()).then(|| Ok::<_, std::io::Error>(Bytes::from(rest)));
    // Dropping this stream (the client left) drops the invocation, which the function sees
    // as a failed write.
    let body = futures_util::stream::iter(first).chain(futures_util::stream::unfold(
        Some(invocation),
        |state| async move {
            let mut invocation = state?;
            match invocation.body.recv().await {
                Some(Ok(chunk)) => Some((Ok(chunk), Some(invocation))),
                // A Function URL would cut the connection; the protocol's error event says why.
                Some(Err(error)) => {
                    let event = format!(
                        "event: error\ndata: {}\n\n",
                        json!({ "error": internal_error(&error) })
                    );
                    Some((Ok(Bytes::from(event)), None))
                }
                None => None,
            }
        },
    ));
    (status, headers, Body::from_stream(body)).into_response()
}
