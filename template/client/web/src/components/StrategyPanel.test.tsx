import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { StrategyPanel } from './StrategyPanel';

afterEach(cleanup);

describe('StrategyPanel', () => {
  it('marks a buffered strategy, whose figures do not move mid-race, for the page and its tests', () => {
    const { container, rerender } = render(<StrategyPanel label="Whole" maxTokens={512} lane={undefined} buffered />);
    expect(container.querySelector('section.panel')?.getAttribute('data-buffered')).toBe('true');
    rerender(<StrategyPanel label="Streamed" maxTokens={512} lane={undefined} />);
    expect(container.querySelector('section.panel')?.hasAttribute('data-buffered')).toBe(false);
  });

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

  it('follows the arriving text unless the reader scrolled up, and again once they scroll back down', () => {
    const lane = (text: string) => ({ status: 'streaming' as const, run: 1, text, points: [] as [number, number][] });
    const { container, rerender } = render(<StrategyPanel label="SSE" maxTokens={512} lane={lane('a')} />);
    const box = container.querySelector('.text') as HTMLDivElement;
    // jsdom lays nothing out: the box is 100 px tall and its content as tall as the test says.
    let content = 1000;
    Object.defineProperty(box, 'clientHeight', { value: 100 });
    Object.defineProperty(box, 'scrollHeight', { get: () => content });
    rerender(<StrategyPanel label="SSE" maxTokens={512} lane={lane('ab')} />);
    expect(box.scrollTop).toBe(1000);
    // The reader scrolls up: more text leaves them where they are.
    box.scrollTop = 200;
    fireEvent.scroll(box);
    content = 1200;
    rerender(<StrategyPanel label="SSE" maxTokens={512} lane={lane('abc')} />);
    expect(box.scrollTop).toBe(200);
    // Back at the end: it follows again.
    box.scrollTop = 1100;
    fireEvent.scroll(box);
    content = 1400;
    rerender(<StrategyPanel label="SSE" maxTokens={512} lane={lane('abcd')} />);
    expect(box.scrollTop).toBe(1400);
  });

  it('says it waits for input before any race, and marks the live leader', () => {
    const { rerender } = render(<StrategyPanel label="REST" maxTokens={512} lane={undefined} />);
    expect(screen.getByText('Waiting for input…')).toBeTruthy();
    rerender(<StrategyPanel label="REST" maxTokens={512} lane={{ status: 'streaming', run: 1, text: 'x', points: [[0, 0], [5, 1]] }} leading />);
    expect(screen.getByRole('img', { name: 'leading' })).toBeTruthy();
  });

  it("marks a run cold when the service says a new instance answered, and not otherwise", () => {
    const usage = { promptTokens: 1, completionTokens: 2, totalTokens: 3 };
    const done = (coldStart: boolean) => ({
      status: 'done' as const,
      run: 1,
      text: 'hi',
      points: [] as [number, number][],
      completion: { text: 'hi', usage, metrics: { firstTokenMs: 1, totalMs: 2, coldStart } },
    });
    const { rerender } = render(<StrategyPanel label="SSE" maxTokens={512} lane={done(true)} />);
    expect(screen.queryByText(/cold start/)).toBeTruthy();
    rerender(<StrategyPanel label="SSE" maxTokens={512} lane={done(false)} />);
    expect(screen.queryByText(/cold start/)).toBeNull();
  });
});
