import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sample } from '../metrics';
import { readMetrics } from '../protocol';
import type { StrategyClient } from '../strategies/types';
import { MetricsTable } from './MetricsTable';

afterEach(cleanup);

const client = (name: string, label: string): StrategyClient => ({
  name,
  label,
  summary: 'answers',
  order: 0,
  run: () => Promise.reject(new Error('not run in this test')),
});

const sample = (strategy: string, run: number, coldStart: boolean): Sample => ({
  strategy,
  run,
  firstChunkMs: 100,
  totalMs: 900,
  usage: { promptTokens: 1, completionTokens: 9, totalTokens: 10 },
  server: readMetrics({ firstTokenMs: 90, totalMs: 880, coldStart }),
});

describe('MetricsTable', () => {
  it("counts the runs that met a new instance, from the service's coldStart", () => {
    render(
      <MetricsTable
        clients={[client('beta', 'Beta'), client('gamma', 'Gamma')]}
        samples={[sample('beta', 1, true), sample('beta', 2, false), sample('beta', 3, false), sample('gamma', 1, false)]}
      />,
    );
    const cell = (label: string) => screen.getByRole('rowheader', { name: label }).parentElement?.lastElementChild?.textContent;
    expect(screen.getByRole('columnheader', { name: 'Cold starts' })).toBeTruthy();
    expect(cell('Beta')).toBe('1 of 3');
    expect(cell('Gamma')).toBe('0 of 1');
  });
});
