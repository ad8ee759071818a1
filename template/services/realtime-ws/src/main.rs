//! Lambda entry point: wires the runtime to [`realtime_ws::handle`], nothing else.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use genai::config::Config;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Read once per container, not per request.
    let config = Config::from_env();
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
            realtime_ws::handle(&config, event.payload)
        },
    ))
    .await
}
