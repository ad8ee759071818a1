//! A stage twin's refusals (`make dev STAGE=<stage>`): a call that the calling function's
//! deployed role does not allow reaches `/_twin/refused/<function>/<n>` (the variable it goes
//! through points here, `crate::stage::Refused::endpoint_variable`), which answers it as AWS
//! answers a call its policies refuse and counts it for `/_local/status`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Shared, lock};

/// AWS's answer to a call no policy allows: 403 and `AccessDeniedException`, in the header
/// the REST-JSON protocols read and the body field the JSON ones read, with IAM's message
/// ("Troubleshoot access denied error messages", IAM User Guide:
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html>).
pub(super) async fn refused(
    State(shared): State<Arc<Shared>>,
    Path(params): Path<Vec<(String, String)>>,
) -> Response {
    let value = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (function, index) = (value("function"), value("index"));
    let message = shared
        .gateway
        .stage
        .as_ref()
        .and_then(|stage| stage.functions.values().find(|f| f.name == function))
        .and_then(|f| index.parse::<usize>().ok().and_then(|i| f.refused.get(i)))
        .map_or_else(
            || format!("{function} is not authorized to make this call"),
            |call| call.message.clone(),
        );
    *lock(&shared.refused).entry(function).or_default() += 1;
    (
        StatusCode::FORBIDDEN,
        [("x-amzn-errortype", "AccessDeniedException")],
        axum::Json(
            json!({ "__type": "AccessDeniedException", "message": message, "Message": message }),
        ),
    )
        .into_response()
}
