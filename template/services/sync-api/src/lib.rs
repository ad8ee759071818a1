//! REST strategy: `POST /generate` answers with the whole text once generation ends.

use genai::config::Config;
use genai::{ApiError, ErrorCode};
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Error, Request, Response};

/// Handles one API Gateway REST request. Requests that break a rule are answered here and
/// never reach the model.
pub async fn handle(config: &Config, request: Request) -> Result<Response<Body>, Error> {
    let error = match genai::parse_request(request.body().as_ref(), &config.limits) {
        Err(error) => error,
        // The Bedrock client comes with the shared genai service; until then a valid request
        // is answered with the protocol's error rather than a gateway failure.
        Ok(_request) => ApiError::new(
            ErrorCode::InternalError,
            "model invocation is not part of this template version yet",
        ),
    };
    error_response(&error)
}

/// The protocol's REST error: the error's status, body `{ "error": <Error> }`.
fn error_response(error: &ApiError) -> Result<Response<Body>, Error> {
    let body = serde_json::json!({ "error": error }).to_string();
    Ok(Response::builder()
        .status(error.status_code)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(body: &str) -> (u16, serde_json::Value) {
        let request = Request::new(Body::from(body.to_string()));
        let response = handle(&Config::from_lookup(|_| None), request)
            .await
            .expect("handled");
        let json = serde_json::from_slice(response.body().as_ref()).expect("JSON body");
        (response.status().as_u16(), json)
    }

    #[tokio::test]
    async fn a_bad_request_gets_the_protocol_error_body() {
        let (status, body) = post(r#"{"prompt":""}"#).await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["code"], "BAD_REQUEST");
        assert_eq!(body["error"]["statusCode"], 400);
    }
}
