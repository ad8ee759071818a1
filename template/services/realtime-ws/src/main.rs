//! Lambda entry point: wires the runtime to [`realtime_ws::handle`], nothing else.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use genai::GenAi;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use realtime_ws::{App, Connections};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Clients and configuration are made once per container, not per request.
    let app = App {
        genai: GenAi::from_env().await?,
        connections: Connections::from_env().await,
    };
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
            realtime_ws::handle(&app, event.payload)
        },
    ))
    .await
}
