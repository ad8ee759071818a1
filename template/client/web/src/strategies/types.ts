import type { Completion, GenerateRequest } from '../protocol';

/** What a strategy's client reports while an answer streams in. */
export interface StreamHandlers {
  /** A piece of text, in order. */
  onChunk(text: string): void;
}

/**
 * One strategy's client. Each lives in its own folder (`src/strategies/<name>/index.ts`, default
 * export) and is found by `registry.ts`: adding a strategy to the app is adding its folder.
 */
export interface StrategyClient {
  /** The key in config.json's `strategies`, and the folder name. */
  name: string;
  /** What the page calls it. */
  label: string;
  /** How it brings the answer, a sentence's predicate for the page's introduction. */
  summary: string;
  /** Where its panel goes, left to right. */
  order: number;
  /**
   * True when the whole answer arrives at once, when generation ends: nothing streams, so
   * there is no stream to cancel midway.
   */
  buffered?: boolean;
  /**
   * Sends one request; resolves with the completion or rejects with a `ProtocolError`
   * (`CANCELLED` after `signal` aborts).
   */
  run(url: string, request: GenerateRequest, handlers: StreamHandlers, signal: AbortSignal): Promise<Completion>;
  /**
   * Opens what its requests travel over (a WebSocket, with its `$connect`), so that the race
   * starts the clock after it and times answers, not handshakes; resolves at once when already
   * open. Clients whose every request is its own connection have none.
   */
  connect?(url: string, signal: AbortSignal): Promise<void>;
}
