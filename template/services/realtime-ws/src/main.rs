//! Lambda entry point: wires the runtime to [`realtime_ws::handle`], nothing else. The
//! connection function and the generation function both run this binary (see the library).

use genai::GenAi;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use realtime_ws::{App, Connections, Generations, Invocation, Ledger};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    // Clients and configuration are made once per container, not per request.
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let app = App {
        genai: GenAi::from_env().await?,
        connections: Connections::new(
            aws_sdk_apigatewaymanagement::config::Builder::from(&shared),
            std::env::var(genai::config::WS_CALLBACK_ENV).ok(),
        ),
        generations: Generations::new(
            // Well inside the function's 10 s: a slow Invoke still ends in the protocol's
            // error frame, posted here, not in API Gateway's own "Internal server error".
            aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(&shared)
                    .timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .operation_timeout(std::time::Duration::from_secs(5))
                            .build(),
                    )
                    .build(),
            ),
            std::env::var(realtime_ws::WORKER_ENV).ok(),
        ),
        min_frame: realtime_ws::min_frame(
            std::env::var(realtime_ws::MIN_FRAME_ENV).ok().as_deref(),
        )?,
        // Bounded like the Invoke above: a ledger that does not answer ends in the protocol's
        // error frame, not in a generation that never starts.
        ledger: Ledger::new(
            aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&shared)
                    .timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .operation_timeout(std::time::Duration::from_secs(5))
                            .build(),
                    )
                    .build(),
            ),
            std::env::var(realtime_ws::LEDGER_ENV).ok(),
        ),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Invocation>| async {
        Ok::<_, Error>(realtime_ws::handle(&app, event.payload).await)
    }))
    .await
}
