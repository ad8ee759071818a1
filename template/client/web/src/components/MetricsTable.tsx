import { METRICS, duration, median, summaries, winners, type MetricKey, type Sample, type Summary } from '../metrics';
import type { StrategyClient } from '../strategies/types';

interface Props {
  clients: StrategyClient[];
  samples: Sample[];
}

function format(summary: Summary | undefined, unit: string): string {
  if (!summary || !Number.isFinite(summary.median)) return '–';
  // Durations as people read them (ms below a second, s above); rates with one decimal.
  const shown = (value: number) => (unit === 'ms' ? duration(value) : `${value.toFixed(1)} ${unit}`);
  if (summary.count < 2) return shown(summary.median);
  return `${shown(summary.median)} (${shown(summary.min)}–${shown(summary.max)})`;
}

/** Server figures are medians of what each service reported in its `metrics`. */
function serverMedian(samples: Sample[], strategy: string, key: 'firstTokenMs' | 'totalMs'): string {
  const values = samples.filter((s) => s.strategy === strategy).map((s) => s.server[key]);
  return values.length === 0 ? '–' : duration(median(values));
}

/** How many of a strategy's runs met a new instance (its start-up is in their timings). */
function coldStarts(samples: Sample[], strategy: string): string {
  const mine = samples.filter((s) => s.strategy === strategy);
  return `${mine.filter((s) => s.server.coldStart).length} of ${mine.length}`;
}

/** Client-measured medians (with min–max over runs), server metrics beside, winners marked. */
export function MetricsTable({ clients, samples }: Props) {
  const table = summaries(samples);
  const won = winners(table);
  const isWinner = (key: MetricKey, name: string) => won[key].includes(name);
  const runs = new Set(samples.map((s) => s.run)).size;
  return (
    <div className="metrics">
      <p>
        Client-measured {runs > 1 ? `medians of ${runs} runs (min–max)` : 'figures'}; server metrics from each
        service's answer; a cold start is a run that met a new instance, whose start-up its timings include. ★ marks
        the winner per metric.
      </p>
      {/* Wide on a phone: the table scrolls sideways inside its box, the page does not. */}
      <div className="scroll">
        <table>
          <caption>Strategies compared</caption>
          <thead>
            <tr>
              <th scope="col">Strategy</th>
              {METRICS.map((m) => (
                <th scope="col" key={m.key}>
                  {m.label}
                </th>
              ))}
              <th scope="col">Server first token</th>
              <th scope="col">Server total</th>
              <th scope="col">Cold starts</th>
            </tr>
          </thead>
          <tbody>
            {clients.map((client) => (
              <tr key={client.name} data-strategy={client.name}>
                <th scope="row">{client.label}</th>
                {METRICS.map((m) => (
                  <td key={m.key} className={isWinner(m.key, client.name) ? 'winner' : undefined}>
                    {format(table.get(client.name)?.[m.key], m.unit)}
                    {isWinner(m.key, client.name) && <span aria-label="winner"> ★</span>}
                  </td>
                ))}
                <td>{serverMedian(samples, client.name, 'firstTokenMs')}</td>
                <td>{serverMedian(samples, client.name, 'totalMs')}</td>
                <td>{coldStarts(samples, client.name)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
