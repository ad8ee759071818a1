// REST strategy: one POST, one JSON answer (PROTOCOL.md, "REST"). The whole text arrives at
// once, so its first chunk is its total.
import { ProtocolError, asProtocolError, isRecord, readUsage, type Completion, type GenerateRequest } from '../../protocol';
import type { StrategyClient, StreamHandlers } from '../types';

function run(url: string, request: GenerateRequest, handlers: StreamHandlers, signal: AbortSignal): Promise<Completion> {
  return post(url, request, handlers, signal).catch((error: unknown) => {
    throw asProtocolError(error);
  });
}

async function post(url: string, request: GenerateRequest, handlers: StreamHandlers, signal: AbortSignal): Promise<Completion> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
    signal,
  });
  let document: unknown;
  try {
    document = await response.json();
  } catch {
    throw ProtocolError.client('BAD_RESPONSE', `HTTP ${response.status} with a body that is not JSON`);
  }
  if (!response.ok || !isRecord(document)) {
    throw ProtocolError.fromBody(isRecord(document) ? document.error : null, `HTTP ${response.status}`);
  }
  const { data, meta } = document;
  if (!isRecord(data) || typeof data.text !== 'string' || !isRecord(meta)) {
    throw ProtocolError.client('BAD_RESPONSE', 'the answer lacks data.text or meta');
  }
  handlers.onChunk(data.text);
  return {
    text: data.text,
    usage: readUsage(data.usage),
    metrics: {
      firstTokenMs: typeof meta.firstTokenMs === 'number' ? meta.firstTokenMs : 0,
      totalMs: typeof meta.latency === 'number' ? meta.latency : 0,
      modelLatencyMs: typeof meta.modelLatencyMs === 'number' ? meta.modelLatencyMs : undefined,
      coldStart: typeof meta.coldStart === 'boolean' ? meta.coldStart : undefined,
    },
    stopReason: typeof meta.stopReason === 'string' ? meta.stopReason : undefined,
  };
}

const rest: StrategyClient = {
  name: 'rest',
  label: 'REST (API Gateway)',
  summary: 'returns the whole answer at the end',
  order: 3,
  buffered: true,
  run,
};
export default rest;
