import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS, toCsv } from './export';

describe('toCsv', () => {
  it('writes one header and one row per sample, tokens/s from usage', () => {
    const csv = toCsv([
      {
        strategy: 'beta',
        run: 2,
        firstChunkMs: 120,
        totalMs: 2000,
        usage: { promptTokens: 5, completionTokens: 300, totalTokens: 305 },
        server: { firstTokenMs: 100, totalMs: 1990, modelLatencyMs: 1900 },
      },
    ]);
    const [header, row, end] = csv.split('\n');
    expect(header.split(',')).toEqual([...CSV_COLUMNS]);
    expect(row).toBe('2,beta,120,2000,150.0,5,300,100,1990,1900');
    expect(end).toBe('');
  });
});
