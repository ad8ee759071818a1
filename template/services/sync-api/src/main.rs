//! Lambda entry point: wires the runtime to [`sync_api::handle`], nothing else.

use genai::config::Config;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Read once per container, not per request.
    let config = Config::from_env();
    lambda_http::run(service_fn(|request: Request| {
        sync_api::handle(&config, request)
    }))
    .await
}
