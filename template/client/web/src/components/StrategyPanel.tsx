import { useLayoutEffect, useRef } from 'react';
import { duration, liveStats } from '../metrics';
import type { Lane } from '../race';

interface Props {
  label: string;
  lane: Lane | undefined;
  maxTokens: number;
  /** Ahead of the others in the running race (the most text so far). */
  leading?: boolean;
  /** Its whole answer arrives at once (`StrategyClient.buffered`): no figures move mid-race. */
  buffered?: boolean;
}

const STATUS: Record<Lane['status'], string> = {
  waiting: 'Waiting for the first chunk…',
  streaming: 'Streaming',
  done: 'Done',
  error: 'Failed',
  cancelled: 'Cancelled',
};

/** One strategy's live text, figures (updated on every chunk), progress, status and error. */
export function StrategyPanel({ label, lane, maxTokens, leading = false, buffered = false }: Props) {
  // The text follows the stream while the reader is at its end; scrolled up, it stays put
  // until they scroll back down.
  const box = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  const text = lane?.text;
  const run = lane?.run;
  // A new run (or none) starts at the end again, whatever the reader did with the last one.
  useLayoutEffect(() => {
    following.current = true;
  }, [run]);
  useLayoutEffect(() => {
    const element = box.current;
    if (element && following.current) element.scrollTop = element.scrollHeight;
  }, [text]);
  const onScroll = () => {
    const element = box.current;
    if (element) following.current = element.scrollHeight - element.scrollTop - element.clientHeight < 8;
  };
  // Progress in tokens: exact from the model's usage once done; while streaming, estimated
  // from the characters so far, and marked as an estimate.
  const live = lane ? liveStats(lane.points, lane.text, lane.completion) : undefined;
  const shown = live ?? { tokens: 0, estimated: false };
  const figures: [string, string, string][] = live
    ? [
        ['first-chunk', 'First chunk', live.firstChunkMs === undefined ? '–' : duration(live.firstChunkMs)],
        // Timed by chunks: a request with none yet (REST until its whole answer) shows none.
        ['elapsed', 'Elapsed', live.chunks === 0 ? '–' : duration(live.elapsedMs)],
        ['chunks', 'Chunks', String(live.chunks)],
        [
          'gap',
          'Gap mean / p95',
          live.meanGapMs === undefined || live.p95GapMs === undefined
            ? '–'
            : `${duration(live.meanGapMs)} / ${duration(live.p95GapMs)}`,
        ],
        [
          'tokens-per-second',
          'Tokens/s',
          live.chunks === 0 ? '–' : `${live.estimated ? '≈' : ''}${live.tokensPerSecond.toFixed(1)}`,
        ],
      ]
    : [];
  return (
    <section
      className={`panel ${lane?.status ?? 'idle'}`}
      aria-label={label}
      data-status={lane?.status ?? 'idle'}
      data-buffered={buffered || undefined}
    >
      <header>
        <h2>
          {label}
          {leading && (
            <span className="leader" role="img" aria-label="leading">
              {' '}
              🏆
            </span>
          )}
        </h2>
        <span className="status" role="status">
          {lane ? STATUS[lane.status] : 'Ready'}
          {lane && lane.run === 0 ? ' · warm-up' : ''}
          {lane && lane.run > 1 ? ` · run ${lane.run}` : ''}
        </span>
      </header>
      <label className="progress">
        <span>
          {shown.estimated ? '≈' : ''}
          {shown.tokens} / {maxTokens} tokens
        </span>
        <progress max={maxTokens} value={Math.min(shown.tokens, maxTokens)} />
      </label>
      {figures.length > 0 && (
        <dl className="live">
          {figures.map(([key, name, value]) => (
            <div key={key}>
              <dt>{name}</dt>
              <dd data-metric={key}>{value}</dd>
            </div>
          ))}
        </dl>
      )}
      {lane?.completion?.metrics.coldStart && (
        <p className="connect">cold start: the first answer of a new instance</p>
      )}
      {lane?.connectMs !== undefined && (
        <p className="connect">connect {duration(lane.connectMs)}, before the clock started</p>
      )}
      {lane?.error && (
        <p className="error" role="alert">
          <code>{lane.error.code}</code> {lane.error.message}
        </p>
      )}
      <div className="text" aria-live="polite" ref={box} onScroll={onScroll} tabIndex={0}>
        {lane ? lane.text : <span className="placeholder">Waiting for input…</span>}
      </div>
    </section>
  );
}
