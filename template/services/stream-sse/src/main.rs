//! Lambda entry point: wires the streaming runtime to [`stream_sse::handle`], nothing else.

use genai::config::Config;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Read once per container, not per request.
    let config = Config::from_env();
    lambda_http::run_with_streaming_response(service_fn(|request: Request| {
        stream_sse::handle(&config, request)
    }))
    .await
}
