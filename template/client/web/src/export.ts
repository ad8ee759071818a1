// Results leave the browser as JSON (everything) or CSV (one row per sample, for a spreadsheet).
import { tokensPerSecond, type Sample } from './metrics';

export const CSV_COLUMNS = [
  'run',
  'strategy',
  'firstChunkMs',
  'totalMs',
  'tokensPerSecond',
  'promptTokens',
  'completionTokens',
  'serverFirstTokenMs',
  'serverTotalMs',
  'modelLatencyMs',
] as const;

export function toCsv(samples: Sample[]): string {
  const rows = samples.map((s) =>
    [
      s.run,
      s.strategy,
      s.firstChunkMs,
      s.totalMs,
      tokensPerSecond(s).toFixed(1),
      s.usage.promptTokens,
      s.usage.completionTokens,
      s.server.firstTokenMs,
      s.server.totalMs,
      s.server.modelLatencyMs ?? '',
    ].join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows].join('\n') + '\n';
}

/** Offers `text` as a file download. */
export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  URL.revokeObjectURL(url);
}
