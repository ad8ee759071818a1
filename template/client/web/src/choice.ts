// Which strategies take part in a race: all by default; the ones left out are remembered in
// the browser (localStorage), so a reload keeps the choice.

const KEY = 'genai-compare-left-out';

/** The strategy names left out last time (unknown names are harmless and ignored). */
export function loadLeftOut(storage: Storage = localStorage): string[] {
  try {
    const value: unknown = JSON.parse(storage.getItem(KEY) ?? '[]');
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/** Remembers the strategies left out; storage that refuses (private mode, full) only forgets. */
export function saveLeftOut(names: string[], storage: Storage = localStorage): void {
  try {
    storage.setItem(KEY, JSON.stringify(names));
  } catch {
    // Not remembered; the choice still holds for this page.
  }
}
