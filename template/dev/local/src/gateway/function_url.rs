//! A Function URL with response streaming: the payload 2.0 event, and a streamed response
//! read from its HTTP integration prelude onwards (`proxy::streamed`).

use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_lambda_events::query_map::QueryMap;
use axum::Extension;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::Response;

use super::{
    At, Shared, delay, epoch_ms, error_response, event_body, host, internal_error, proxy,
    request_body, to_json,
};

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
        Ok(invocation) if invocation.streaming => proxy::streamed(invocation).await,
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
