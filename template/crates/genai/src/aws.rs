//! What every AWS SDK client of the project shares: its HTTPS client and the defaults it loads.
//!
//! The SDK crates are built without their default HTTPS client (rustls on aws-lc-rs, whose C
//! library is the longest step of a cold build), so a client made any other way than from
//! [`defaults`] or with [`http_client`] has none and fails its first call with "no HTTP
//! client". Ring is one of the TLS providers the SDK documents as alternatives
//! (<https://docs.aws.amazon.com/sdk-for-rust/latest/dg/http.html>). What it gives up: the
//! default also offers AWS endpoints the hybrid post-quantum key exchange X25519MLKEM768
//! (rustls' `prefer-post-quantum`); ring negotiates classical X25519. To have it back, use
//! `CryptoMode::AwsLc` here and the `rustls-aws-lc` feature of `aws-smithy-http-client` in
//! the workspace's `Cargo.toml`, at the cost of that build.

use aws_sdk_bedrockruntime::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// An HTTPS client with rustls on ring and the system's trusted roots. It also speaks plain
/// HTTP, which the local fakes answer on.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// `aws_config::defaults` with [`http_client`]: the region, credentials and settings of the
/// environment (a Lambda function's role and region, deployed).
pub fn defaults() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client())
}
