//! Reading what a function says of its HTTP response: the one parser of a Lambda
//! proxy-integration response, buffered or streamed, and the one copier of its headers, for
//! every route that turns a function's JSON into a status and headers.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures_util::StreamExt;
use genai::{ApiError, ErrorCode};
use serde_json::{Value, json};

use super::{error_response, internal_error, limits};
use crate::runtime::Invocation;

/// A buffered proxy-integration response
/// (`{statusCode, headers, multiValueHeaders, body, isBase64Encoded}`), as API Gateway REST,
/// a Function URL and a WebSocket route read it; a field that is missing or of the wrong type
/// reads as absent.
pub(super) struct ProxyResponse {
    /// `statusCode`, when it is a number that fits a `u16`; each caller has its own default.
    pub(super) status: Option<u16>,
    /// `headers` and then `multiValueHeaders`.
    headers: HeaderMap,
    /// `body`, decoded when `isBase64Encoded`.
    body: Vec<u8>,
}

impl ProxyResponse {
    /// `None` when the function's response is not JSON.
    pub(super) fn parse(response: &[u8]) -> Option<ProxyResponse> {
        let document = serde_json::from_slice::<Value>(response).ok()?;
        let mut headers = HeaderMap::new();
        copy_headers(&document["headers"], &mut headers);
        if let Some(multi) = document["multiValueHeaders"].as_object() {
            for (name, values) in multi {
                for value in values.as_array().into_iter().flatten() {
                    append_header(&mut headers, name, value);
                }
            }
        }
        let text = document["body"].as_str().unwrap_or_default();
        let body = if document["isBase64Encoded"].as_bool() == Some(true) {
            BASE64.decode(text).unwrap_or_default()
        } else {
            text.as_bytes().to_vec()
        };
        Some(ProxyResponse {
            status: status_code(&document),
            headers,
            body,
        })
    }
}

/// The HTTP response a buffered proxy response becomes; a status that is missing or not one
/// is a 502, a response that is not JSON the protocol's `INTERNAL_ERROR`.
pub(super) fn respond(response: &[u8]) -> Response {
    let Some(response) = ProxyResponse::parse(response) else {
        return error_response(&ApiError::new(
            ErrorCode::InternalError,
            "the function returned a malformed proxy response",
        ));
    };
    let status = response
        .status
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    (status, response.headers, response.body).into_response()
}

/// A streamed response, as a Function URL and a REST API's streamed integration read it: the
/// HTTP integration prelude (`{statusCode, headers, cookies}` then eight NUL bytes), then the
/// rest of the body passed on as it arrives. A stream silent for longer than the CDN's origin
/// response timeout is cut, as CloudFront cuts it ([`limits::CDN_ORIGIN_RESPONSE`]).
pub(super) async fn streamed(mut invocation: Invocation) -> Response {
    const DELIMITER: &[u8] = &[0; 8];
    let mut head = Vec::new();
    let rest = loop {
        match tokio::time::timeout(limits::CDN_ORIGIN_RESPONSE, invocation.body.recv()).await {
            Ok(Some(Ok(chunk))) => {
                head.extend_from_slice(&chunk);
                if let Some(at) = head.windows(8).position(|w| w == DELIMITER) {
                    break head.split_off(at + 8)[..].to_vec();
                }
            }
            Ok(Some(Err(error))) => return error_response(&internal_error(&error)),
            Ok(None) => {
                return error_response(&ApiError::new(
                    ErrorCode::InternalError,
                    "the function's streamed response had no HTTP prelude",
                ));
            }
            Err(_silent) => return error_response(&silent()),
        }
    };
    // The prelude has a proxy response's statusCode and headers but no multi-value headers,
    // so it is read field by field rather than as a whole proxy response.
    let prelude: Value = serde_json::from_slice(&head[..head.len() - 8]).unwrap_or_default();
    let Ok(status) = StatusCode::from_u16(status_code(&prelude).unwrap_or(200)) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut headers = HeaderMap::new();
    copy_headers(&prelude["headers"], &mut headers);
    let first = (!rest.is_empty()).then(|| Ok::<_, std::io::Error>(Bytes::from(rest)));
    // Dropping this stream (the client left) drops the invocation, which the function sees
    // as a failed write.
    let body = futures_util::stream::iter(first).chain(futures_util::stream::unfold(
        Some(invocation),
        |state| async move {
            let mut invocation = state?;
            let error =
                match tokio::time::timeout(limits::CDN_ORIGIN_RESPONSE, invocation.body.recv())
                    .await
                {
                    Ok(Some(Ok(chunk))) => return Some((Ok(chunk), Some(invocation))),
                    Ok(None) => return None,
                    Ok(Some(Err(error))) => internal_error(&error),
                    Err(_silent) => silent(),
                };
            // AWS would cut the connection; the protocol's error event says why.
            let event = format!("event: error\ndata: {}\n\n", json!({ "error": error }));
            Some((Ok(Bytes::from(event)), None))
        },
    ));
    (status, headers, Body::from_stream(body)).into_response()
}

/// Why a silent stream was cut.
fn silent() -> ApiError {
    ApiError::new(
        ErrorCode::Timeout,
        format!(
            "the stream sent nothing for {} s: CloudFront's origin response timeout cuts it there; send keep-alives more often",
            limits::CDN_ORIGIN_RESPONSE.as_secs()
        ),
    )
}

/// `statusCode` of a response or of a streamed response's prelude.
pub(super) fn status_code(document: &Value) -> Option<u16> {
    document["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
}

/// Appends each `name: value` of a single-value `headers` object (a proxy response's or a
/// streamed response's prelude) to `headers`.
pub(super) fn copy_headers(object: &Value, headers: &mut HeaderMap) {
    for (name, value) in object.as_object().into_iter().flatten() {
        append_header(headers, name, value);
    }
}

/// A header whose value is not a string, or that HTTP cannot carry, is left out rather than
/// failing the whole response.
fn append_header(headers: &mut HeaderMap, name: &str, value: &Value) {
    if let (Ok(name), Some(Ok(value))) = (
        HeaderName::try_from(name),
        value.as_str().map(HeaderValue::from_str),
    ) {
        headers.append(name, value);
    }
}
