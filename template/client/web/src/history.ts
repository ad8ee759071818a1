// The last runs, kept in the browser (localStorage) so a comparison survives a reload.
import type { Sample } from './metrics';

export interface HistoryEntry {
  at: string;
  prompt: string;
  runs: number;
  mode: 'parallel' | 'sequential';
  samples: Sample[];
  errors: { strategy: string; code: string }[];
}

const KEY = 'genai-compare-history';
/** Enough to compare a session's runs; bounded so storage stays small. */
export const HISTORY_LIMIT = 20;

export function loadHistory(storage: Storage = localStorage): HistoryEntry[] {
  try {
    const value: unknown = JSON.parse(storage.getItem(KEY) ?? '[]');
    return Array.isArray(value) ? (value as HistoryEntry[]) : [];
  } catch {
    return [];
  }
}

export function addToHistory(entry: HistoryEntry, storage: Storage = localStorage): HistoryEntry[] {
  const entries = [entry, ...loadHistory(storage)].slice(0, HISTORY_LIMIT);
  try {
    storage.setItem(KEY, JSON.stringify(entries));
  } catch {
    // Storage full or disabled (private mode): the history is a convenience, not a requirement.
  }
  return entries;
}
