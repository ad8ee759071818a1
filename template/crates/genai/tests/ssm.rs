//! Configuration from SSM Parameter Store, read with the real SDK client from a local
//! endpoint that speaks SSM's JSON protocol.

use std::collections::HashMap;

use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region};
use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{Value, json};

/// Answers `GetParametersByPath` for `/app/dev/` in two pages, as SSM paginates.
async fn ssm(headers: HeaderMap, body: String) -> String {
    assert_eq!(headers["x-amz-target"], "AmazonSSM.GetParametersByPath");
    let request: Value = serde_json::from_str(&body).expect("JSON request");
    assert_eq!(request["Path"], "/app/dev/");
    assert_eq!(request["WithDecryption"], true);
    let parameter = |name: &str, value: &str| json!({ "Name": format!("/app/dev/{name}"), "Value": value, "Type": "String" });
    if request.get("NextToken").is_none() {
        json!({ "Parameters": [parameter("model-id", "eu.amazon.nova-lite-v1:0")], "NextToken": "page-2" }).to_string()
    } else {
        json!({ "Parameters": [parameter("max-tokens", "777"), parameter("allowed-origins", "https://app.example.com")] })
            .to_string()
    }
}

#[tokio::test]
async fn parameters_under_the_path_configure_the_service_and_the_environment_wins() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, Router::new().route("/", post(ssm))).await });
    let client = aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(endpoint)
            .build(),
    );
    let parameters = genai::config::load_parameters(&client, "/app/dev/")
        .await
        .expect("loaded");
    assert_eq!(parameters.len(), 3, "both pages read: {parameters:?}");

    let env: HashMap<&str, &str> = HashMap::from([("MAX_TOKENS", "1024")]);
    let config =
        genai::config::Config::from_sources(|key| env.get(key).map(|v| v.to_string()), &parameters);
    assert_eq!(config.model_id, "eu.amazon.nova-lite-v1:0");
    assert_eq!(config.limits.max_tokens, 1024, "the environment wins");
    assert!(config.allows_origin("https://app.example.com"));
}
