// What one run of one strategy measured, and how strategies are compared: the winner per metric
// and, over several runs, medians with their spread.
import type { Completion, ServerMetrics, Usage } from './protocol';

/** One strategy's answer to one prompt, as the browser saw it. */
export interface Sample {
  strategy: string;
  run: number;
  /** Client-measured, from sending the request to the first text. */
  firstChunkMs: number;
  /** Client-measured, from sending the request to the completion. */
  totalMs: number;
  /** Client-measured, opening the connection before the request (WebSocket), when it was opened. */
  connectMs?: number;
  usage: Usage;
  server: ServerMetrics;
}

/** The client-side figures of a completion that started at `startedAt` (ms, same clock). */
export function sampleOf(
  strategy: string,
  run: number,
  startedAt: number,
  firstChunkAt: number | undefined,
  endedAt: number,
  completion: Completion,
): Sample {
  return {
    strategy,
    run,
    firstChunkMs: Math.round((firstChunkAt ?? endedAt) - startedAt),
    totalMs: Math.round(endedAt - startedAt),
    usage: completion.usage,
    server: completion.metrics,
  };
}

/** Output tokens per second of wall time, from the model's usage (never from text length). */
export function tokensPerSecond(sample: Pick<Sample, 'usage' | 'totalMs'>): number {
  return sample.totalMs > 0 ? (sample.usage.completionTokens * 1000) / sample.totalMs : 0;
}

/** A duration as people read it: milliseconds below a second, seconds above. */
export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** What a panel shows on every chunk, from the chunks' arrival times alone. */
export interface LiveStats {
  /** Arrival of the first chunk, ms after the request. */
  firstChunkMs?: number;
  /** Arrival of the latest chunk, ms after the request. */
  elapsedMs: number;
  chunks: number;
  /** Mean and 95th percentile of the gaps between consecutive chunks. */
  meanGapMs?: number;
  p95GapMs?: number;
  /** Tokens so far: the model's count once done, else estimated (about four characters each). */
  tokens: number;
  estimated: boolean;
  tokensPerSecond: number;
}

/**
 * The live figures of one answer: `points` are `[ms after the request, characters so far]`,
 * starting with `[0, 0]`, one more per chunk; `completion` once it is done.
 */
export function liveStats(points: [number, number][], text: string, completion?: Completion): LiveStats {
  const arrivals = points.slice(1).map(([at]) => at);
  const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]);
  const sorted = [...gaps].sort((a, b) => a - b);
  const elapsedMs = arrivals.at(-1) ?? 0;
  const tokens = completion ? completion.usage.completionTokens : Math.round(text.length / 4);
  return {
    firstChunkMs: arrivals[0],
    elapsedMs,
    chunks: arrivals.length,
    meanGapMs: gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : undefined,
    p95GapMs: sorted.length ? sorted[Math.ceil(sorted.length * 0.95) - 1] : undefined,
    tokens,
    estimated: !completion,
    tokensPerSecond: elapsedMs > 0 ? (tokens * 1000) / elapsedMs : 0,
  };
}

export type MetricKey = 'firstChunkMs' | 'totalMs' | 'tokensPerSecond';

export interface MetricInfo {
  key: MetricKey;
  label: string;
  unit: string;
  /** Whether a larger value wins. */
  higherWins: boolean;
}

export const METRICS: MetricInfo[] = [
  { key: 'firstChunkMs', label: 'First chunk', unit: 'ms', higherWins: false },
  { key: 'totalMs', label: 'Total', unit: 'ms', higherWins: false },
  { key: 'tokensPerSecond', label: 'Tokens/s', unit: 'tok/s', higherWins: true },
];

export function metricValue(sample: Sample, key: MetricKey): number {
  return key === 'tokensPerSecond' ? tokensPerSecond(sample) : sample[key];
}

/** The median of the values (mean of the middle two for an even count); NaN for none. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** A metric over several runs of one strategy. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  count: number;
}

export function summarize(values: number[]): Summary {
  return {
    median: median(values),
    min: values.length ? Math.min(...values) : Number.NaN,
    max: values.length ? Math.max(...values) : Number.NaN,
    count: values.length,
  };
}

/** Per strategy and metric, the summary of its successful samples. */
export function summaries(samples: Sample[]): Map<string, Record<MetricKey, Summary>> {
  const byStrategy = new Map<string, Sample[]>();
  for (const sample of samples) {
    byStrategy.set(sample.strategy, [...(byStrategy.get(sample.strategy) ?? []), sample]);
  }
  const result = new Map<string, Record<MetricKey, Summary>>();
  for (const [strategy, list] of byStrategy) {
    result.set(strategy, {
      firstChunkMs: summarize(list.map((s) => metricValue(s, 'firstChunkMs'))),
      totalMs: summarize(list.map((s) => metricValue(s, 'totalMs'))),
      tokensPerSecond: summarize(list.map((s) => metricValue(s, 'tokensPerSecond'))),
    });
  }
  return result;
}

/**
 * The strategies with the best median per metric (ties share the win). A metric has no winner
 * when fewer than two strategies have values for it: there is nothing to compare.
 */
export function winners(table: Map<string, Record<MetricKey, Summary>>): Record<MetricKey, string[]> {
  const result = { firstChunkMs: [], totalMs: [], tokensPerSecond: [] } as Record<MetricKey, string[]>;
  for (const metric of METRICS) {
    const entries = [...table].filter(([, row]) => Number.isFinite(row[metric.key].median));
    if (entries.length < 2) continue;
    const values = entries.map(([, row]) => row[metric.key].median);
    const best = metric.higherWins ? Math.max(...values) : Math.min(...values);
    result[metric.key] = entries.filter(([, row]) => row[metric.key].median === best).map(([name]) => name);
  }
  return result;
}
