//! Lambda entry point: wires the runtime to [`sync_api::handle`], nothing else.

use genai::GenAi;
use lambda_http::{Error, Request, service_fn};
use sync_api::Deadline;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // Clients and configuration are made once per container, not per request.
    let genai = GenAi::from_env().await?;
    let deadline = Deadline::from_env();
    lambda_http::run(service_fn(|request: Request| {
        sync_api::handle(&genai, deadline, request)
    }))
    .await
}
