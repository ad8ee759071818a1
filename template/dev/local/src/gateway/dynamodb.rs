//! DynamoDB's `PutItem`, in memory, for a worker's ledger (`ledger-env`): the generation
//! function records each generation with a conditional write, so a copy of its event runs
//! nothing. It is served where the functions already reach Lambda's Invoke API (this origin,
//! as `AWS_ENDPOINT_URL_DYNAMODB`), so the real SDK client and its error handling run locally.
//!
//! The protocol is AWS JSON 1.0: `POST /`, the operation in `X-Amz-Target`
//! (`DynamoDB_20120810.PutItem`), errors as 400 with their type in `__type`
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>).
//! The stack knows no table's key schema, so a put must carry the condition a ledger writes,
//! `attribute_not_exists(<key>)` on the key, the documented way to refuse an overwrite
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>);
//! that attribute is the record's key. A refused put answers `ConditionalCheckFailedException`
//! with the record that stopped it when asked (`ReturnValuesOnConditionCheckFailure: ALL_OLD`,
//! <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html>).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::{Shared, lock};

/// The records (by table and key) and what was asked of them, for `/_local/status`.
#[derive(Default)]
pub struct Tables {
    records: std::collections::HashMap<(String, String), Value>,
    /// `PutItem` calls that wrote a record.
    pub puts: u64,
    /// `PutItem` calls refused by their condition.
    pub refused: u64,
}

fn error(status: StatusCode, kind: &str, message: &str, item: Option<&Value>) -> Response {
    let mut body =
        json!({ "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message });
    if let Some(item) = item {
        body["Item"] = item.clone();
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
        body.to_string(),
    )
        .into_response()
}

fn validation(message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "ValidationException",
        message,
        None,
    )
}

/// `POST /` with an `X-Amz-Target`: DynamoDB's JSON API, `PutItem` only.
pub(super) async fn dynamodb(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // As for the Invoke API: an SDK never sends Origin, a browser always does across origins.
    if headers.contains_key(header::ORIGIN) {
        return error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "the local DynamoDB serves the stack's own functions, not browsers",
            None,
        );
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if target != "DynamoDB_20120810.PutItem" {
        return error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            &format!("the local stack serves DynamoDB's PutItem only, not `{target}`"),
            None,
        );
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "SerializationException",
            "the request is not JSON",
            None,
        );
    };
    let Some(table) = request["TableName"].as_str() else {
        return validation("TableName is required");
    };
    let condition = request["ConditionExpression"].as_str().unwrap_or_default();
    let Some(name) = condition
        .trim()
        .strip_prefix("attribute_not_exists(")
        .and_then(|rest| rest.strip_suffix(')'))
        .map(str::trim)
    else {
        return validation(
            "the local stack knows no key schema: a put needs the condition \
             attribute_not_exists(<key>), which names its key",
        );
    };
    let key_name = if name.starts_with('#') {
        match request["ExpressionAttributeNames"][name].as_str() {
            Some(key_name) => key_name,
            None => return validation(&format!("{name} is not in ExpressionAttributeNames")),
        }
    } else {
        name
    };
    let Some(key) = request["Item"][key_name]
        .as_object()
        .and_then(|value| value.values().next())
        .map(Value::to_string)
    else {
        return validation(&format!("the item has no key attribute `{key_name}`"));
    };
    let mut tables = lock(&shared.tables);
    let record = (table.to_string(), key);
    if let Some(old) = tables.records.get(&record).cloned() {
        tables.refused += 1;
        let asked = request["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD";
        return error(
            StatusCode::BAD_REQUEST,
            "ConditionalCheckFailedException",
            "The conditional request failed",
            asked.then_some(&old),
        );
    }
    tables.records.insert(record, request["Item"].clone());
    tables.puts += 1;
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
        "{}",
    )
        .into_response()
}
