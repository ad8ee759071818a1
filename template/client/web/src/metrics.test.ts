import { describe, expect, it } from 'vitest';
import { duration, liveStats, median, sampleOf, summaries, tokensPerSecond, winners, type Sample } from './metrics';

function sample(strategy: string, firstChunkMs: number, totalMs: number, completionTokens: number, run = 1): Sample {
  return {
    strategy,
    run,
    firstChunkMs,
    totalMs,
    usage: { promptTokens: 5, completionTokens, totalTokens: 5 + completionTokens },
    server: { firstTokenMs: 1, totalMs: 2 },
  };
}

describe('metrics', () => {
  it('takes the median of odd and even counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it("computes tokens per second from the model's usage and the client's total time", () => {
    expect(tokensPerSecond(sample('beta', 100, 2000, 300))).toBe(150);
    expect(tokensPerSecond(sample('beta', 0, 0, 300))).toBe(0);
  });

  it('measures first chunk and total from the client clock; no chunk means first chunk = total', () => {
    const completion = { text: '', usage: { promptTokens: 1, completionTokens: 0, totalTokens: 1 }, metrics: { firstTokenMs: 0, totalMs: 0 } };
    expect(sampleOf('gamma', 1, 1000, 1250.4, 1900.6, completion)).toMatchObject({ firstChunkMs: 250, totalMs: 901 });
    expect(sampleOf('gamma', 1, 1000, undefined, 1500, completion)).toMatchObject({ firstChunkMs: 500, totalMs: 500 });
  });

  it('picks the winner per metric over medians: lowest times, highest tokens/s, ties shared', () => {
    const samples = [
      sample('alpha', 90, 2100, 300, 1),
      sample('alpha', 110, 1900, 300, 2),
      sample('alpha', 500, 2500, 300, 3),
      sample('beta', 100, 2000, 300, 1),
      sample('beta', 100, 2000, 300, 2),
      sample('beta', 100, 2000, 300, 3),
      sample('gamma', 3000, 3000, 300, 1),
    ];
    const table = summaries(samples);
    expect(table.get('alpha')?.firstChunkMs).toEqual({ median: 110, min: 90, max: 500, count: 3 });
    expect(winners(table)).toEqual({
      firstChunkMs: ['beta'],
      totalMs: ['beta'],
      tokensPerSecond: ['beta'],
    });
  });

  it('shares a win between strategies with equal medians', () => {
    const table = summaries([sample('alpha', 100, 2000, 300), sample('beta', 100, 2500, 300)]);
    expect(winners(table).firstChunkMs).toEqual(['alpha', 'beta']);
  });

  it('names no winner with a single strategy', () => {
    expect(winners(summaries([sample('beta', 1, 2, 3)]))).toEqual({ firstChunkMs: [], totalMs: [], tokensPerSecond: [] });
  });

  it('reads a streaming answer from its chunk arrivals: first, elapsed, count, gaps, an estimated rate', () => {
    // Chunks at 100, 150, 200 and 400 ms; 40 characters so far.
    const live = liveStats(
      [
        [0, 0],
        [100, 10],
        [150, 20],
        [200, 30],
        [400, 40],
      ],
      'x'.repeat(40),
    );
    expect(live).toMatchObject({ firstChunkMs: 100, elapsedMs: 400, chunks: 4, meanGapMs: 100, p95GapMs: 200 });
    expect(live).toMatchObject({ tokens: 10, estimated: true, tokensPerSecond: 25 });
    // Before any chunk there is nothing to time.
    expect(liveStats([[0, 0]], '')).toMatchObject({ chunks: 0, elapsedMs: 0, firstChunkMs: undefined, meanGapMs: undefined });
  });

  it("counts the model's tokens once done, and writes durations as people read them", () => {
    const usage = { promptTokens: 1, completionTokens: 12, totalTokens: 13 };
    const done = liveStats([[0, 0], [500, 40], [2000, 60]], 'x'.repeat(60), { text: '', usage, metrics: { firstTokenMs: 1, totalMs: 2 } });
    expect(done).toMatchObject({ tokens: 12, estimated: false, tokensPerSecond: 6 });
    expect([duration(42.4), duration(999), duration(1234), duration(12_345)]).toEqual(['42 ms', '999 ms', '1.23 s', '12.3 s']);
  });
});
