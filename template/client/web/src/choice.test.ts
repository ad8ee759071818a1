import { describe, expect, it } from 'vitest';
import { loadLeftOut, saveLeftOut } from './choice';

/** A Storage kept in memory. */
function memory(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, value),
  };
}

describe('strategy choice', () => {
  it('remembers the strategies left out, and reads garbage as none', () => {
    const storage = memory();
    expect(loadLeftOut(storage)).toEqual([]);
    saveLeftOut(['gamma'], storage);
    expect(loadLeftOut(storage)).toEqual(['gamma']);
    storage.setItem('genai-compare-left-out', '{not json');
    expect(loadLeftOut(storage)).toEqual([]);
  });
});
