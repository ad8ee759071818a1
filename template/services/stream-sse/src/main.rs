//! Lambda entry point: wires the streaming runtime to [`stream_sse::handle`], nothing else.

use std::sync::Arc;

use genai::GenAi;
use genai::event_stream::KeepAlive;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // Clients and configuration are made once per container, not per request.
    let genai = Arc::new(GenAi::from_env().await?);
    let keep_alive = KeepAlive::from_env();
    lambda_http::run_with_streaming_response(service_fn(|request: Request| {
        stream_sse::handle(genai.clone(), keep_alive, request)
    }))
    .await
}
