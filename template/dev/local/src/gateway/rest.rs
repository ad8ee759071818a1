//! The API Gateway REST API in front of a REST strategy: the proxy event of its one resource
//! (the path the CDN's router asks the API for, `discover::Service::origin_path`), and the
//! integration's response: buffered within the 29 s integration timeout, or streamed
//! (`ResponseTransferMode: STREAM`) as the function writes it.

use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::query_map::QueryMap;
use axum::Extension;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use genai::{ApiError, ErrorCode};

use crate::discover::Trigger;

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
    let (service, function) = shared.service(at);
    let resource = service.origin_path.clone();
    let (parts, body) = request.into_parts();
    if let Some(stage) = &shared.gateway.stage
        && !stage.has_rest_method(&service.name, parts.method.as_str(), &resource)
    {
        return missing_method();
    }
    let body = match request_body(body).await {
        Ok(body) => body,
        Err(too_large) => return too_large,
    };
    let mut event = ApiGatewayProxyRequest::default();
    let query = parts.uri.query().unwrap_or_default();
    // The REST API has one resource; the origin serves it under the service's route.
    event.resource = Some(resource.clone());
    event.path = Some(resource.clone());
    event.http_method = parts.method.clone();
    event.headers = parts.headers.clone();
    event.multi_value_headers = parts.headers.clone();
    event.query_string_parameters = query.parse::<QueryMap>().unwrap_or_default();
    event.multi_value_query_string_parameters = event.query_string_parameters.clone();
    (event.body, event.is_base64_encoded) = event_body(&body);
    let context = &mut event.request_context;
    context.stage = Some("local".into());
    context.path = Some(format!("/local{resource}"));
    context.resource_path = Some(resource);
    context.http_method = parts.method;
    context.request_time_epoch = epoch_ms();
    context.identity.source_ip = Some(peer.ip().to_string());
    context.apiid = Some("local".into());
    context.request_id = Some(format!("local-{}", shared.next_id()));
    if service.trigger == Trigger::RestStreaming {
        delay(shared.gateway.latencies.invoke).await;
        return match function.invoke(to_json(&event)).await {
            Ok(invocation) if invocation.streaming => proxy::streamed(invocation).await,
            // A streamed integration reads the prelude of InvokeWithResponseStream; a buffered
            // answer has none, and API Gateway answers 500
            // (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html).
            Ok(_) => error_response(&ApiError::new(
                ErrorCode::InternalError,
                "the function answered a streamed integration without streaming (lambda_http::run_with_streaming_response)",
            )),
            Err(error) => error_response(&internal_error(&error)),
        };
    }
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

/// What API Gateway answers for a method or resource its REST API lacks: 403 with its
/// `MISSING_AUTHENTICATION_TOKEN` gateway response, which the stacks leave as it is ("Gateway
/// response types for API Gateway":
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html>).
fn missing_method() -> Response {
    Response::builder()
        .status(axum::http::StatusCode::FORBIDDEN)
        .header("content-type", "application/json")
        .header("x-amzn-errortype", "MissingAuthenticationTokenException")
        .body(axum::body::Body::from(
            r#"{"message":"Missing Authentication Token"}"#,
        ))
        .unwrap_or_default()
}
