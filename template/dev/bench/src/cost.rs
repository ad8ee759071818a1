//! What an answer costs in AWS, per million answers: each strategy's measured answer (frames,
//! duration) priced with `dev/bench/prices.toml`, with each function's memory from its
//! service's declaration. The usage of an answer follows from how AWS invokes the service (its
//! `trigger`), not from its name.

use std::path::Path;

use local::discover::{Service, Trigger};
use serde::{Deserialize, Serialize};

/// The price table's path in the project.
pub const PRICES: &str = "dev/bench/prices.toml";

/// One price of the table, with where and when it was read.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Price {
    /// USD per million units.
    #[serde(default)]
    pub usd_per_million: Option<f64>,
    /// USD per unit (a GB-second).
    #[serde(default)]
    pub usd: Option<f64>,
    /// The size a message is metered in, in bytes.
    #[serde(default)]
    pub step_bytes: Option<u64>,
    /// The AWS pricing page.
    pub source: String,
    /// When it was read there.
    pub read: String,
}

impl Price {
    fn per_unit(&self) -> f64 {
        self.usd
            .or(self.usd_per_million.map(|p| p / 1e6))
            .unwrap_or(0.0)
    }
}

/// `dev/bench/prices.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Prices {
    /// The region of every price.
    pub region: String,
    /// API Gateway WebSocket API: per message, sent or received.
    pub api_gateway_websocket_message: Price,
    /// API Gateway WebSocket API: per connection minute.
    pub api_gateway_websocket_connection_minute: Price,
    /// API Gateway REST API: per request.
    pub api_gateway_rest_request: Price,
    /// Lambda: per request.
    pub lambda_request: Price,
    /// Lambda on arm64: per GB-second.
    pub lambda_arm64_gb_second: Price,
    /// CloudFront: per HTTPS request.
    pub cloudfront_https_request: Price,
    /// DynamoDB on demand: per write request unit.
    pub dynamodb_write_request_unit: Price,
}

impl Prices {
    /// Reads the table from the project at `root`.
    pub fn read(root: &Path) -> Result<Prices, String> {
        let path = root.join(PRICES);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Every price with its name, page and date, for the sources line.
    pub fn all(&self) -> [(&'static str, &Price); 7] {
        [
            (
                "API Gateway WebSocket messages",
                &self.api_gateway_websocket_message,
            ),
            (
                "API Gateway WebSocket connection minutes",
                &self.api_gateway_websocket_connection_minute,
            ),
            ("API Gateway REST requests", &self.api_gateway_rest_request),
            ("Lambda requests", &self.lambda_request),
            ("Lambda arm64 GB-seconds", &self.lambda_arm64_gb_second),
            ("CloudFront HTTPS requests", &self.cloudfront_https_request),
            (
                "DynamoDB on-demand write request units",
                &self.dynamodb_write_request_unit,
            ),
        ]
    }
}

/// What one answer uses of each priced thing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// API Gateway WebSocket messages, each way, in the table's steps.
    pub websocket_messages: f64,
    /// API Gateway WebSocket connection minutes.
    pub connection_minutes: f64,
    /// API Gateway REST requests.
    pub rest_requests: f64,
    /// Lambda invocations.
    pub lambda_requests: f64,
    /// Lambda GB-seconds.
    pub lambda_gb_seconds: f64,
    /// CloudFront HTTPS requests.
    pub cloudfront_requests: f64,
    /// DynamoDB write request units.
    pub dynamodb_writes: f64,
}

impl Usage {
    /// One answer of `service` that took `total_ms` (sending to the last byte) and brought
    /// `frames` messages, as the client counted them. The client opens a connection per
    /// answer, as the bench does, so the WebSocket figures include the connection's own
    /// (`$connect`, `$disconnect`, the upgrade through CloudFront); an app that keeps its
    /// socket open pays those once per connection. A function is billed for the answer's whole
    /// time; a route that only hands over (the WebSocket connection function) is billed its
    /// request, and its few milliseconds are left out.
    pub fn of(service: &Service, total_ms: f64, frames: f64) -> Usage {
        let seconds = total_ms / 1000.0;
        let gb_seconds = |memory_mb: u32| f64::from(memory_mb) / 1024.0 * seconds;
        let dynamodb_writes = f64::from(service.dynamodb_writes_per_answer);
        match service.trigger {
            Trigger::WebSocket => Usage {
                // The client's message, then every frame (each under the 32 KB frame limit,
                // so one step each).
                websocket_messages: frames + 1.0,
                connection_minutes: total_ms / 60_000.0,
                // $connect, the message's route, the generation function, $disconnect.
                lambda_requests: if service.worker.is_some() { 4.0 } else { 3.0 },
                lambda_gb_seconds: gb_seconds(
                    service
                        .worker
                        .as_ref()
                        .map_or(service.memory_mb, |w| w.memory_mb),
                ),
                cloudfront_requests: 1.0,
                dynamodb_writes,
                ..Usage::default()
            },
            Trigger::FunctionUrlStreaming => Usage {
                lambda_requests: 1.0,
                lambda_gb_seconds: gb_seconds(service.memory_mb),
                cloudfront_requests: 1.0,
                dynamodb_writes,
                ..Usage::default()
            },
            // A streamed response counts as one request per 10 MB, rounded up, and no answer
            // comes near that ("Response streaming",
            // https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html).
            Trigger::Rest | Trigger::RestStreaming => Usage {
                rest_requests: 1.0,
                lambda_requests: 1.0,
                lambda_gb_seconds: gb_seconds(service.memory_mb),
                cloudfront_requests: 1.0,
                dynamodb_writes,
                ..Usage::default()
            },
        }
    }
}

/// USD per million answers, by what bills it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    /// API Gateway: messages and connection minutes, or requests.
    pub api_gateway: f64,
    /// Lambda: requests and duration.
    pub lambda: f64,
    /// CloudFront requests (data out is left out: the same text for every strategy).
    pub cloudfront: f64,
    /// DynamoDB writes.
    pub dynamodb: f64,
}

impl Cost {
    /// A million answers of `usage` at `prices`.
    pub fn of(usage: &Usage, prices: &Prices) -> Cost {
        let million = |units: f64, price: &Price| units * price.per_unit() * 1e6;
        Cost {
            api_gateway: million(
                usage.websocket_messages,
                &prices.api_gateway_websocket_message,
            ) + million(
                usage.connection_minutes,
                &prices.api_gateway_websocket_connection_minute,
            ) + million(usage.rest_requests, &prices.api_gateway_rest_request),
            lambda: million(usage.lambda_requests, &prices.lambda_request)
                + million(usage.lambda_gb_seconds, &prices.lambda_arm64_gb_second),
            cloudfront: million(usage.cloudfront_requests, &prices.cloudfront_https_request),
            dynamodb: million(usage.dynamodb_writes, &prices.dynamodb_write_request_unit),
        }
    }

    /// The sum.
    pub fn total(&self) -> f64 {
        self.api_gateway + self.lambda + self.cloudfront + self.dynamodb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        local::project_root().expect("inside the project")
    }

    #[test]
    fn the_projects_price_table_reads_and_says_where_each_price_is_from() {
        let prices = Prices::read(&root()).expect("prices.toml");
        assert_eq!(prices.region, "us-east-1");
        for (name, price) in prices.all() {
            assert!(price.per_unit() > 0.0, "{name}");
            assert!(
                price.source.starts_with("https://aws.amazon.com/"),
                "{name}: {}",
                price.source
            );
            assert_eq!(
                price.read.len(),
                "2026-12-06".len(),
                "{name}: {}",
                price.read
            );
        }
    }

    #[test]
    fn a_million_answers_cost_their_units_times_the_prices() {
        let prices = Prices::read(&root()).expect("prices.toml");
        let usage = Usage {
            websocket_messages: 62.0,
            lambda_requests: 2.0,
            lambda_gb_seconds: 1.5,
            ..Usage::default()
        };
        let cost = Cost::of(&usage, &prices);
        let per_message = prices.api_gateway_websocket_message.per_unit();
        assert!((cost.api_gateway - 62.0 * per_message * 1e6).abs() < 1e-9);
        let lambda = 2.0 * prices.lambda_request.per_unit() * 1e6
            + 1.5 * prices.lambda_arm64_gb_second.per_unit() * 1e6;
        assert!((cost.lambda - lambda).abs() < 1e-9);
        assert_eq!(cost.total(), cost.api_gateway + cost.lambda);
    }
}
