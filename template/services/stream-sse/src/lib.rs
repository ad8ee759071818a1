//! SSE strategy: a Function URL streams the answer as `text/event-stream` events.

use genai::config::Config;
use genai::{ApiError, ErrorCode};
use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use lambda_http::{Body, Error, Request, RequestExt, Response};

/// Handles one Function URL request: `POST` with a JSON body, or `GET ?prompt=` as the
/// original sample's clients send it.
pub async fn handle(config: &Config, request: Request) -> Result<Response<Body>, Error> {
    let parsed = match request
        .query_string_parameters_ref()
        .and_then(|q| q.first("prompt"))
    {
        Some(prompt) => {
            let body = serde_json::json!({ "prompt": prompt }).to_string();
            genai::parse_request(body.as_bytes(), &config.limits)
        }
        None => genai::parse_request(request.body().as_ref(), &config.limits),
    };
    match parsed {
        // A request that breaks a rule is refused before any stream starts.
        Err(error) => error_response(&error),
        // The Bedrock client comes with the shared genai service; until then the stream
        // carries the protocol's error event.
        Ok(_request) => event_stream(&ApiError::new(
            ErrorCode::InternalError,
            "model invocation is not part of this template version yet",
        )),
    }
}

fn event_stream(error: &ApiError) -> Result<Response<Body>, Error> {
    let event = format!(
        "event: error\ndata: {}\n\n",
        serde_json::json!({ "error": error })
    );
    Ok(Response::builder()
        .status(200)
        .header(CONTENT_TYPE, "text/event-stream")
        .header(CACHE_CONTROL, "no-cache")
        .body(Body::from(event))?)
}

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
    use std::collections::HashMap;

    fn config() -> Config {
        Config::from_lookup(|_| None)
    }

    #[tokio::test]
    async fn a_bad_post_is_refused_before_the_stream_starts() {
        let response = handle(&config(), Request::new(Body::from("{}")))
            .await
            .expect("handled");
        assert_eq!(response.status().as_u16(), 400);
        let body: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).expect("JSON");
        assert_eq!(body["error"]["code"], "BAD_REQUEST");
    }

    #[tokio::test]
    async fn a_get_with_a_prompt_opens_an_event_stream() {
        let request = Request::default().with_query_string_parameters(HashMap::from([(
            "prompt".to_string(),
            "Tell me a story".to_string(),
        )]));
        let response = handle(&config(), request).await.expect("handled");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
        let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        assert!(text.starts_with("event: error\ndata: {"), "{text}");
    }
}
