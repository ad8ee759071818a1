//! The API Gateway REST API in front of the REST strategy: the proxy event of its one
//! resource, and the 29 s integration timeout.

use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::query_map::QueryMap;
use axum::Extension;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use genai::{ApiError, ErrorCode};

use super::{
    At, Shared, call, delay, epoch_ms, error_response, event_body, internal_error, limits, proxy,
    request_body, to_json,
};

pub(super) async fn rest(
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
    let mut event = ApiGatewayProxyRequest::default();
    let query = parts.uri.query().unwrap_or_default();
    // The REST API has one resource, /generate; the origin serves it under its route.
    event.resource = Some("/generate".into());
    event.path = Some("/generate".into());
    event.http_method = parts.method.clone();
    event.headers = parts.headers.clone();
    event.multi_value_headers = parts.headers.clone();
    event.query_string_parameters = query.parse::<QueryMap>().unwrap_or_default();
    event.multi_value_query_string_parameters = event.query_string_parameters.clone();
    (event.body, event.is_base64_encoded) = event_body(&body);
    let context = &mut event.request_context;
    context.stage = Some("local".into());
    context.resource_path = Some("/generate".into());
    context.path = Some("/local/generate".into());
    context.http_method = parts.method;
    context.request_time_epoch = epoch_ms();
    context.identity.source_ip = Some(peer.ip().to_string());
    context.apiid = Some("local".into());
    context.request_id = Some(format!("local-{}", shared.next_id()));
    let invocation = async {
        delay(shared.gateway.latencies.invoke).await;
        call(function, to_json(&event)).await
    };
    match tokio::time::timeout(limits::INTEGRATION_TIMEOUT, invocation).await {
        Ok(Ok(body)) => proxy::respond(&body),
        Ok(Err(error)) => error_response(&internal_error(&error)),
        Err(_) => error_response(&ApiError::new(
            ErrorCode::Timeout,
            "Endpoint request timed out (API Gateway's 29 s integration timeout)",
        )),
    }
}
