import type { HistoryEntry } from '../history';
import { median, tokensPerSecond } from '../metrics';

interface Props {
  entries: HistoryEntry[];
}

/** Earlier runs in this browser: when, what, and each strategy's median total time. */
export function History({ entries }: Props) {
  if (entries.length === 0) return null;
  return (
    <details className="history">
      <summary>History ({entries.length})</summary>
      <ol>
        {entries.map((entry) => {
          const strategies = [...new Set(entry.samples.map((s) => s.strategy))];
          return (
            <li key={entry.at}>
              <time dateTime={entry.at}>{new Date(entry.at).toLocaleString()}</time> · {entry.runs} run(s),{' '}
              {entry.mode} · “{entry.prompt.slice(0, 60)}”
              <ul>
                {strategies.map((name) => {
                  const mine = entry.samples.filter((s) => s.strategy === name);
                  return (
                    <li key={name}>
                      {name}: total {median(mine.map((s) => s.totalMs)).toFixed(0)} ms,{' '}
                      {median(mine.map(tokensPerSecond)).toFixed(1)} tok/s
                    </li>
                  );
                })}
                {entry.errors.map((e, i) => (
                  <li key={`e${i}`}>
                    {e.strategy}: <code>{e.code}</code>
                  </li>
                ))}
              </ul>
            </li>
          );
        })}
      </ol>
    </details>
  );
}
