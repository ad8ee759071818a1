// The strategy clients this project has: one folder each, found at build time. Nothing here
// names a strategy, so no file changes when a folder is added or removed.
import type { StrategyClient } from './types';

const modules = import.meta.glob<{ default: StrategyClient }>('./*/index.ts', { eager: true });

/** Every client present, in panel order. */
export const clients: StrategyClient[] = Object.values(modules)
  .map((module) => module.default)
  .sort((a, b) => a.order - b.order);
