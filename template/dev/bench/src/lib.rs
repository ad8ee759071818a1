//! `make bench`: sends prompts through every strategy a stage has and measures what a user
//! feels. The local stack (with simulated AWS latencies) by default, a deployed stage with
//! `URL=https://…`. Endpoints come from the stage's `/config.json`, as the web app reads them.
//!
//! [`client`] speaks PROTOCOL.md; this module turns samples into percentiles, winners, a table,
//! a JSON file and an SVG chart.

pub mod client;
pub mod cost;
pub mod readme;

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;
use serde::Serialize;

/// How requests were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// One request at a time: the strategies' latency without contention.
    Sequential,
    /// `--concurrency` requests in flight.
    Concurrent,
}

/// One request's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Strategy name, as `config.json` lists it.
    pub strategy: String,
    /// How it was sent.
    pub mode: Mode,
    /// The protocol's error code, or `None` when the answer completed.
    pub error: Option<String>,
    /// Milliseconds from sending to the first text (REST: to the answer).
    pub first_chunk_ms: Option<f64>,
    /// Milliseconds from sending to the end of the answer.
    pub total_ms: f64,
    /// The model's `usage.completionTokens`.
    pub completion_tokens: Option<u64>,
    /// The model's `usage.promptTokens`.
    pub prompt_tokens: Option<u64>,
    /// Completion tokens per second of the whole request.
    pub tokens_per_second: Option<f64>,
    /// Frames or events that carried text.
    pub chunks: usize,
    /// Messages received for the answer: WebSocket frames (each one API Gateway bills), SSE
    /// events, or the one REST response.
    pub frames: usize,
}

/// Percentiles of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Nearest-rank percentiles; `None` without values.
pub fn percentiles(values: &[f64]) -> Option<Percentiles> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index]
    };
    Some(Percentiles {
        p50: rank(0.50),
        p95: rank(0.95),
        p99: rank(0.99),
    })
}

/// One row of the table: a strategy in one mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Strategy name.
    pub strategy: String,
    /// Mode.
    pub mode: Mode,
    /// Requests sent.
    pub requests: usize,
    /// Errors by protocol code.
    pub errors: BTreeMap<String, usize>,
    /// Time to first chunk of the answers that completed.
    pub first_chunk_ms: Option<Percentiles>,
    /// Total time of the answers that completed.
    pub total_ms: Option<Percentiles>,
    /// Tokens per second of the answers that completed.
    pub tokens_per_second: Option<Percentiles>,
    /// Messages per answer of the answers that completed.
    pub frames: Option<Percentiles>,
}

/// Rows per (strategy, mode), in name order.
pub fn summarize(samples: &[Sample]) -> Vec<Summary> {
    let mut groups: BTreeMap<(String, Mode), Vec<&Sample>> = BTreeMap::new();
    for sample in samples {
        groups
            .entry((sample.strategy.clone(), sample.mode))
            .or_default()
            .push(sample);
    }
    groups
        .into_iter()
        .map(|((strategy, mode), group)| {
            let ok: Vec<&Sample> = group
                .iter()
                .copied()
                .filter(|s| s.error.is_none())
                .collect();
            let mut errors = BTreeMap::new();
            for code in group.iter().filter_map(|s| s.error.clone()) {
                *errors.entry(code).or_insert(0) += 1;
            }
            let values =
                |f: fn(&Sample) -> Option<f64>| ok.iter().filter_map(|s| f(s)).collect::<Vec<_>>();
            Summary {
                strategy,
                mode,
                requests: group.len(),
                errors,
                first_chunk_ms: percentiles(&values(|s| s.first_chunk_ms)),
                total_ms: percentiles(&values(|s| Some(s.total_ms))),
                tokens_per_second: percentiles(&values(|s| s.tokens_per_second)),
                frames: percentiles(&values(|s| Some(s.frames as f64))),
            }
        })
        .collect()
}

/// The winner of each metric at p50 among the rows of `mode`: lowest first chunk and total,
/// highest tokens per second. A strategy with errors can still win; the table shows them.
pub fn winners(summaries: &[Summary], mode: Mode) -> BTreeMap<&'static str, String> {
    let rows: Vec<&Summary> = summaries.iter().filter(|s| s.mode == mode).collect();
    let best = |metric: fn(&Summary) -> Option<f64>, lower_is_better: bool| {
        rows.iter()
            .filter_map(|s| metric(s).map(|v| (v, s.strategy.clone())))
            .min_by(|a, b| {
                if lower_is_better {
                    a.0.total_cmp(&b.0)
                } else {
                    b.0.total_cmp(&a.0)
                }
            })
            .map(|(_, name)| name)
    };
    let mut winners = BTreeMap::new();
    for (metric, value, lower) in [
        (
            "firstChunk",
            (|s: &Summary| s.first_chunk_ms.map(|p| p.p50)) as fn(&Summary) -> Option<f64>,
            true,
        ),
        ("total", |s: &Summary| s.total_ms.map(|p| p.p50), true),
        (
            "tokensPerSecond",
            |s: &Summary| s.tokens_per_second.map(|p| p.p50),
            false,
        ),
    ] {
        if let Some(name) = best(value, lower) {
            winners.insert(metric, name);
        }
    }
    winners
}

/// The table printed at the end of a run.
pub fn table(summaries: &[Summary]) -> String {
    let fmt = |p: Option<Percentiles>| {
        p.map_or("-".to_string(), |p| {
            format!("{:.0}/{:.0}/{:.0}", p.p50, p.p95, p.p99)
        })
    };
    let mut out = format!(
        "{:<16} {:<10} {:>4} {:>6}  {:>20}  {:>20}  {:>16}  {:>12}\n",
        "strategy", "mode", "n", "errors", "first chunk ms", "total ms", "tokens/s", "frames"
    );
    out.push_str(&format!(
        "{:<16} {:<10} {:>4} {:>6}  {:>20}  {:>20}  {:>16}  {:>12}\n",
        "", "", "", "", "p50/p95/p99", "p50/p95/p99", "p50/p95/p99", "p50/p95/p99"
    ));
    for s in summaries {
        let mode = match s.mode {
            Mode::Sequential => "one-by-one",
            Mode::Concurrent => "concurrent",
        };
        out.push_str(&format!(
            "{:<16} {:<10} {:>4} {:>6}  {:>20}  {:>20}  {:>16}  {:>12}\n",
            s.strategy,
            mode,
            s.requests,
            s.errors.values().sum::<usize>(),
            fmt(s.first_chunk_ms),
            fmt(s.total_ms),
            fmt(s.tokens_per_second),
            fmt(s.frames),
        ));
    }
    for mode in [Mode::Sequential, Mode::Concurrent] {
        let winners = winners(summaries, mode);
        if !winners.is_empty() {
            let list: Vec<String> = winners.iter().map(|(m, s)| format!("{m}: {s}")).collect();
            out.push_str(&format!("winners ({mode:?}, p50): {}\n", list.join(", ")));
        }
    }
    for s in summaries.iter().filter(|s| !s.errors.is_empty()) {
        out.push_str(&format!(
            "errors of {} ({:?}): {:?}\n",
            s.strategy, s.mode, s.errors
        ));
    }
    out
}

/// Writes the chart: the distribution (cumulative share of requests) of time to first chunk
/// and of total time, one line per strategy, one-by-one requests.
pub fn write_svg(path: &Path, samples: &[Sample]) -> Result<(), String> {
    let root = SVGBackend::new(path, (960, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(480);
    let strategies: Vec<String> = {
        let mut names: Vec<String> = samples.iter().map(|s| s.strategy.clone()).collect();
        names.sort();
        names.dedup();
        names
    };
    for (area, title, metric) in [
        (
            &left,
            "time to first chunk (ms)",
            (|s: &Sample| s.first_chunk_ms) as fn(&Sample) -> Option<f64>,
        ),
        (&right, "total time (ms)", |s: &Sample| Some(s.total_ms)),
    ] {
        let series: Vec<(String, Vec<f64>)> = strategies
            .iter()
            .map(|name| {
                let mut values: Vec<f64> = samples
                    .iter()
                    .filter(|s| {
                        &s.strategy == name && s.mode == Mode::Sequential && s.error.is_none()
                    })
                    .filter_map(metric)
                    .collect();
                values.sort_by(f64::total_cmp);
                (name.clone(), values)
            })
            .collect();
        let max = series
            .iter()
            .flat_map(|(_, v)| v.last().copied())
            .fold(1.0_f64, f64::max)
            * 1.05;
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(44)
            .build_cartesian_2d(0.0..max, 0.0..1.0_f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .y_desc("share of requests")
            .draw()
            .map_err(|e| e.to_string())?;
        for (index, (name, values)) in series.iter().enumerate() {
            let color = Palette99::pick(index).to_rgba();
            let n = values.len().max(1) as f64;
            let points = values
                .iter()
                .enumerate()
                .map(|(i, v)| (*v, (i + 1) as f64 / n));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(strategy: &str, first: f64, total: f64, error: Option<&str>) -> Sample {
        Sample {
            strategy: strategy.into(),
            mode: Mode::Sequential,
            error: error.map(str::to_string),
            first_chunk_ms: Some(first),
            total_ms: total,
            completion_tokens: Some(10),
            prompt_tokens: Some(3),
            tokens_per_second: Some(10_000.0 / total),
            chunks: 10,
            frames: 11,
        }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = percentiles(&values).expect("values");
        assert_eq!((p.p50, p.p95, p.p99), (50.0, 95.0, 99.0));
        assert_eq!(percentiles(&[7.0]).map(|p| p.p99), Some(7.0));
        assert_eq!(percentiles(&[]), None);
    }

    #[test]
    fn winners_are_the_lowest_latency_and_the_highest_throughput() {
        // Any strategy names will do: the statistics know none of them.
        let samples = vec![
            sample("early", 100.0, 900.0, None),
            sample("fast", 120.0, 800.0, None),
            sample("whole", 800.0, 800.5, None),
            sample("whole", 1.0, 1.0, Some("THROTTLED")),
        ];
        let summaries = summarize(&samples);
        let whole = summaries
            .iter()
            .find(|s| s.strategy == "whole")
            .expect("whole");
        assert_eq!(whole.errors.get("THROTTLED"), Some(&1));
        assert_eq!(
            whole.total_ms.map(|p| p.p50),
            Some(800.5),
            "errors are not timed"
        );
        let winners = winners(&summaries, Mode::Sequential);
        assert_eq!(winners["firstChunk"], "early");
        assert_eq!(winners["total"], "fast");
        assert_eq!(winners["tokensPerSecond"], "fast");
    }
}
