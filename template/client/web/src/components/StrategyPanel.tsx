import type { Lane } from '../race';

interface Props {
  label: string;
  lane: Lane | undefined;
  maxTokens: number;
}

const STATUS: Record<Lane['status'], string> = {
  waiting: 'Waiting for the first chunk…',
  streaming: 'Streaming',
  done: 'Done',
  error: 'Failed',
  cancelled: 'Cancelled',
};

/**
 * Progress in tokens: exact from the model's usage once done; while streaming, estimated from
 * the characters so far (about four per token), and marked as an estimate.
 */
function progress(lane: Lane): { tokens: number; estimated: boolean } {
  if (lane.completion) return { tokens: lane.completion.usage.completionTokens, estimated: false };
  return { tokens: Math.round(lane.text.length / 4), estimated: true };
}

/** One strategy's live text, progress, status and error. */
export function StrategyPanel({ label, lane, maxTokens }: Props) {
  const shown = lane ? progress(lane) : { tokens: 0, estimated: false };
  return (
    <section className={`panel ${lane?.status ?? 'idle'}`} aria-label={label} data-status={lane?.status ?? 'idle'}>
      <header>
        <h2>{label}</h2>
        <span className="status" role="status">
          {lane ? STATUS[lane.status] : 'Ready'}
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
      {lane?.connectMs !== undefined && (
        <p className="connect">connect {lane.connectMs} ms, before the clock started</p>
      )}
      {lane?.error && (
        <p className="error" role="alert">
          <code>{lane.error.code}</code> {lane.error.message}
        </p>
      )}
      <div className="text" aria-live="polite">
        {lane?.text}
      </div>
    </section>
  );
}
