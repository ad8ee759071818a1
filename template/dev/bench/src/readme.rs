//! README.md's measured section: the latencies and the cost per million answers of each
//! strategy, rendered from a bench run kept in the project (`dev/bench/reference.json`, written
//! by `bench --reference`) and the price table (`dev/bench/prices.toml`), so no figure is typed
//! by hand. `make bench-readme` measures again and renders; `tests/readme.rs` fails when the
//! README's section is not the rendering.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cost::{Cost, PRICES, Prices, Usage};

/// The run kept for the README.
pub const REFERENCE: &str = "dev/bench/reference.json";

/// The lines around the rendered section in README.md.
pub const BEGIN: &str = "<!-- bench:begin: rendered by `make bench-readme` from dev/bench/reference.json and dev/bench/prices.toml; edit those, not this -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- bench:end -->";

/// How the reference run was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Answers per row, one at a time.
    pub requests: usize,
    /// The fake model's time to first token.
    pub ttft_ms: u64,
    /// Its pace.
    pub tokens_per_second: u64,
    /// Its answer's length.
    pub tokens: u32,
    /// Each simulated Management API post.
    pub post_latency_ms: u64,
    /// Each simulated invocation.
    pub invoke_latency_ms: u64,
}

/// One row: a strategy, at one frame floor when it posts frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// The strategy's key.
    pub strategy: String,
    /// The frame floor it ran with (0: none), when its service declares one.
    pub floor_ms: Option<u64>,
    /// That floor is the one its service declares.
    pub default_floor: bool,
    /// p50 of the time to first chunk.
    pub first_chunk_ms: f64,
    /// p50 of the total time.
    pub total_ms: f64,
    /// p50 of the messages the client received per answer.
    pub frames: f64,
    /// What one answer used, as the run measured it and the declarations priced it.
    pub usage: Usage,
}

/// `dev/bench/reference.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    /// How it was measured.
    pub run: Run,
    /// Its rows, in the order measured.
    pub rows: Vec<Row>,
}

impl Reference {
    /// Reads the project's reference run.
    pub fn read(root: &Path) -> Result<Reference, String> {
        let path = root.join(REFERENCE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}; run make bench-readme", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn row_name(row: &Row) -> String {
    match row.floor_ms {
        None => row.strategy.clone(),
        Some(0) => format!("{}, no frame floor", row.strategy),
        Some(ms) if row.default_floor => format!("{}, {ms} ms floor (default)", row.strategy),
        Some(ms) => format!("{}, {ms} ms floor", row.strategy),
    }
}

/// The section between [`BEGIN`] and [`END`], those lines included.
pub fn render(reference: &Reference, prices: &Prices) -> String {
    let run = &reference.run;
    let mut out = format!("{BEGIN}\n");
    out.push_str(
        "| | first chunk p50 | total p50 | frames per answer | API Gateway | Lambda | CloudFront | DynamoDB | per million answers |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let dollars = |usd: f64| {
        if usd == 0.0 {
            "–".to_string()
        } else {
            format!("${usd:.2}")
        }
    };
    for row in &reference.rows {
        let cost = Cost::of(&row.usage, prices);
        out.push_str(&format!(
            "| {} | {:.0} ms | {:.0} ms | {:.0} | {} | {} | {} | {} | **{}** |\n",
            row_name(row),
            row.first_chunk_ms,
            row.total_ms,
            row.frames,
            dollars(cost.api_gateway),
            dollars(cost.lambda),
            dollars(cost.cloudfront),
            dollars(cost.dynamodb),
            dollars(cost.total()),
        ));
    }
    let answer_s =
        f64::from(run.tokens) / run.tokens_per_second as f64 + run.ttft_ms as f64 / 1000.0;
    let mut text = format!(
        "Measured by `make bench-readme` on the local stack with release builds, {} answers per \
         row one at a time: simulated AWS latencies, not AWS. The fake model takes {} ms to the \
         first of {} tokens at {} a second (an answer of about {answer_s:.1} s), each \
         Management API post {} ms and each invocation {} ms. Frames are the messages the client \
         received (a WebSocket answer also sends one, its question); a function is billed for \
         the answer's whole time at the memory its service declares, and each answer here opens \
         its own connection (an app that keeps its socket open pays `$connect`, `$disconnect` \
         and the CloudFront upgrade request once per connection). CloudFront's data out is left \
         out: the same text for every strategy. Prices: {}, before free tiers, from `{PRICES}`: ",
        run.requests,
        run.ttft_ms,
        run.tokens,
        run.tokens_per_second,
        run.post_latency_ms,
        run.invoke_latency_ms,
        prices.region,
    );
    let sources: Vec<String> = prices
        .all()
        .iter()
        .map(|(name, price)| {
            let amount = match (price.usd_per_million, price.usd) {
                (Some(p), _) if (p * 100.0).fract() == 0.0 => format!("${p:.2} per million"),
                (Some(p), _) => format!("${p} per million"),
                (None, Some(p)) => format!("${p} each"),
                (None, None) => "free".to_string(),
            };
            format!("{name} {amount} ({}, read {})", price.source, price.read)
        })
        .collect();
    text.push_str(&sources.join("; "));
    text.push('.');
    out.push('\n');
    out.push_str(&wrap(&text, 95));
    out.push_str(END);
    out
}

/// `text` as lines of at most `width` characters (a longer word gets a line of its own), the
/// README's own wrapping.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// `readme` with its section replaced by `section`; an error when the markers are missing.
pub fn replace(readme: &str, section: &str) -> Result<String, String> {
    let (before, rest) = readme
        .split_once(BEGIN)
        .ok_or_else(|| format!("README.md has no line {BEGIN}"))?;
    let (_, after) = rest
        .split_once(END)
        .ok_or_else(|| format!("README.md has no line {END} after the first"))?;
    Ok(format!("{before}{section}{after}"))
}

/// The section README.md holds now, markers included.
pub fn current(readme: &str) -> Option<&str> {
    let start = readme.find(BEGIN)?;
    let end = readme[start..].find(END)? + start + END.len();
    Some(&readme[start..end])
}
