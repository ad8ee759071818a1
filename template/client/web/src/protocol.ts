// The wire contract of PROTOCOL.md (at the project root): the request every strategy
// takes, and what each strategy answers. Field names are the original sample's; new ones are
// additions only.

/** What the user asks; `prompt` is required, the rest fall back to the server's defaults. */
export interface GenerateRequest {
  prompt: string;
  maxTokens?: number;
  temperature?: number;
  system?: string;
}

/** Token counts from the model's own usage report. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** What the service measured, in milliseconds from receiving the request. */
export interface ServerMetrics {
  firstTokenMs: number;
  totalMs: number;
  modelLatencyMs?: number;
  /** The first answer of a new service instance (PROTOCOL.md, Metrics). */
  coldStart?: boolean;
}

/** The protocol's error body. */
export interface ErrorBody {
  message: string;
  code: string;
  statusCode: number;
}

/** A finished answer, whichever strategy carried it. */
export interface Completion {
  text: string;
  usage: Usage;
  metrics: ServerMetrics;
  stopReason?: string;
}

/**
 * Codes the client adds to the protocol's own: what can go wrong between the browser and the
 * service, as opposed to what the service reports.
 */
export type ClientCode = 'NETWORK' | 'SEQUENCE' | 'CANCELLED' | 'BAD_RESPONSE' | 'CLIENT_TIMEOUT';

/** An error with the protocol's code (or a client code), shown as such in the panel. */
export class ProtocolError extends Error {
  readonly code: string;
  readonly statusCode?: number;

  constructor(code: string, message: string, statusCode?: number) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.statusCode = statusCode;
  }

  /** From the protocol's error body; anything else is a malformed answer. */
  static fromBody(body: unknown, context: string): ProtocolError {
    if (isErrorBody(body)) {
      return new ProtocolError(body.code, body.message, body.statusCode);
    }
    return new ProtocolError('BAD_RESPONSE', `${context}: not the protocol's error shape`);
  }

  static client(code: ClientCode, message: string): ProtocolError {
    return new ProtocolError(code, message);
  }
}

/** The error of a failed request, whatever was thrown. */
export function asProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (error instanceof DOMException && error.name === 'AbortError') {
    return ProtocolError.client('CANCELLED', 'cancelled');
  }
  const message = error instanceof Error ? error.message : String(error);
  return ProtocolError.client('NETWORK', message);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function isErrorBody(value: unknown): value is ErrorBody {
  return (
    isRecord(value) &&
    typeof value.message === 'string' &&
    typeof value.code === 'string' &&
    typeof value.statusCode === 'number'
  );
}

/** Reads the usage object of a completion; a missing or malformed one is a protocol break. */
export function readUsage(value: unknown): Usage {
  if (
    isRecord(value) &&
    typeof value.promptTokens === 'number' &&
    typeof value.completionTokens === 'number' &&
    typeof value.totalTokens === 'number'
  ) {
    return {
      promptTokens: value.promptTokens,
      completionTokens: value.completionTokens,
      totalTokens: value.totalTokens,
    };
  }
  throw ProtocolError.client('BAD_RESPONSE', 'the answer has no usage counts');
}

/** Reads server metrics; the services always send them, so a missing one is a protocol break. */
export function readMetrics(value: unknown): ServerMetrics {
  if (isRecord(value) && typeof value.firstTokenMs === 'number' && typeof value.totalMs === 'number') {
    return {
      firstTokenMs: value.firstTokenMs,
      totalMs: value.totalMs,
      modelLatencyMs: typeof value.modelLatencyMs === 'number' ? value.modelLatencyMs : undefined,
      coldStart: typeof value.coldStart === 'boolean' ? value.coldStart : undefined,
    };
  }
  throw ProtocolError.client('BAD_RESPONSE', 'the answer has no server metrics');
}

