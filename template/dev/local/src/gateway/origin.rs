//! What the origin serves besides the triggers: `/config.json` with this stack's endpoints,
//! `/_local/status`, and the built web app (or an index of the strategies without one).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Shared, host, lock};
use crate::discover::{Service, Trigger};
use crate::runtime::Function;

pub(super) async fn config(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let host = host(&headers);
    let mut strategies = serde_json::Map::new();
    for (service, _) in &shared.gateway.functions {
        let scheme = if service.trigger == Trigger::WebSocket {
            "ws"
        } else {
            "http"
        };
        strategies.insert(
            service.strategy.clone(),
            json!({ "url": format!("{scheme}://{host}{}", service.route) }),
        );
    }
    let mut document = shared.gateway.config.clone();
    document["strategies"] = Value::Object(strategies);
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(document)).into_response()
}

pub(super) async fn status(State(shared): State<Arc<Shared>>) -> Response {
    let mut functions = serde_json::Map::new();
    let every = shared.gateway.functions.iter().map(|(_, f)| f);
    for function in every.chain(shared.gateway.workers.iter().map(|w| &w.function)) {
        let counts = function.counts();
        functions.insert(
            function.name().to_string(),
            json!({ "idle": counts.idle, "busy": counts.busy, "started": counts.started, "replaced": counts.replaced }),
        );
    }
    let bedrock = shared.gateway.bedrock.as_ref().map(|fake| {
        let stats = fake.stats();
        json!({ "calls": stats.calls, "completed": stats.completed, "hangups": stats.hangups })
    });
    let connections = lock(&shared.connections).len();
    let tables = lock(&shared.tables);
    let dynamodb = json!({ "puts": tables.puts, "refused": tables.refused });
    drop(tables);
    // A stage twin's calls refused by the deployed policies, by calling function.
    let refused = json!(*lock(&shared.refused));
    axum::Json(json!({ "functions": functions, "bedrock": bedrock, "connections": connections, "dynamodb": dynamodb, "refused": refused }))
        .into_response()
}

fn content_type(path: &std::path::Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The built web app: a file by its name, `index.html` for `/` and for a missing file. A
/// path without a file extension is not the app's (it has no routes of its own): it belongs
/// to a strategy, and one the project does not have answers 404 there, as PROTOCOL.md says.
/// The routes of the strategies present never reach this fallback.
pub(super) async fn static_file(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let path = uri.path();
    let last = path.rsplit('/').next().unwrap_or_default();
    if path != "/" && !last.contains('.') {
        let message = format!("nothing at {path}: this project has no strategy there\n");
        return (StatusCode::NOT_FOUND, message).into_response();
    }
    let Some(root) = &shared.gateway.web_root else {
        return (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            index_page(&shared.gateway.functions),
        )
            .into_response();
    };
    let relative = path.trim_start_matches('/');
    let safe = !relative.split('/').any(|part| part == "..");
    let candidate = root.join(if relative.is_empty() {
        "index.html"
    } else {
        relative
    });
    let file = if safe && candidate.is_file() {
        candidate
    } else {
        root.join("index.html")
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(&file))], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

fn index_page(functions: &[(Service, Arc<Function>)]) -> String {
    let rows: String = functions
        .iter()
        .map(|(s, _)| {
            format!(
                "<li><code>{}</code> {} ({})</li>",
                s.route, s.strategy, s.name
            )
        })
        .collect();
    format!(
        "<!doctype html><title>local stack</title><h1>Local stack</h1>\
         <p>No built web app (client/web/dist). Strategies:</p><ul>{rows}</ul>\
         <p><a href=\"/config.json\">config.json</a> · <a href=\"/_local/status\">status</a></p>"
    )
}

/// What CloudFront does to a request it forwards to an origin with custom headers: each is set,
/// replacing a header of the same name the viewer sent ("Adding custom headers to origin
/// requests", CloudFront Developer Guide:
/// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html>).
/// Only a stage twin has any: the deployed distribution's, for the route's behaviour.
pub(super) async fn add_origin_headers(
    mut request: axum::extract::Request,
    headers: Vec<(String, String)>,
) -> axum::extract::Request {
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(name),
            axum::http::HeaderValue::try_from(value),
        ) {
            request.headers_mut().insert(name, value);
        }
    }
    request
}
