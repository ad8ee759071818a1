//! Reading what a function says of its HTTP response: the one parser of a Lambda
//! proxy-integration response and the one copier of its headers, for every route that turns
//! a function's JSON into a status and headers.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use genai::{ApiError, ErrorCode};
use serde_json::Value;

use super::error_response;

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
