import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { StrategyPanel } from './StrategyPanel';

afterEach(cleanup);

describe('StrategyPanel', () => {
  it("shows the protocol's error code and message as an alert, with the text received so far", () => {
    render(
      <StrategyPanel
        label="SSE"
        maxTokens={512}
        lane={{
          status: 'error',
          run: 1,
          text: 'Once upon',
          points: [],
          error: { code: 'MODEL_ERROR', message: 'the model failed mid-answer' },
        }}
      />,
    );
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('MODEL_ERROR');
    expect(alert.textContent).toContain('the model failed mid-answer');
    expect(screen.getByRole('status').textContent).toBe('Failed');
    expect(screen.getByText('Once upon')).toBeTruthy();
  });

  it('shows exact tokens from usage once done, an estimate before', () => {
    const usage = { promptTokens: 1, completionTokens: 42, totalTokens: 43 };
    const { rerender } = render(
      <StrategyPanel label="WS" maxTokens={100} lane={{ status: 'streaming', run: 1, text: 'abcdefgh', points: [] }} />,
    );
    expect(screen.getByText('≈2 / 100 tokens')).toBeTruthy();
    rerender(
      <StrategyPanel
        label="WS"
        maxTokens={100}
        lane={{ status: 'done', run: 1, text: 'abcdefgh', points: [], completion: { text: 'abcdefgh', usage, metrics: { firstTokenMs: 1, totalMs: 2 } } }}
      />,
    );
    expect(screen.getByText('42 / 100 tokens')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
