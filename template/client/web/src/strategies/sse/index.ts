// SSE strategy: POST the request to a Lambda Function URL and read its event stream
// (PROTOCOL.md, "Server-Sent Events"; read in src/event-stream.ts, as every event-stream strategy is).
import { postEvents } from '../../event-stream';
import type { StrategyClient } from '../types';

/**
 * CloudFront's Origin Access Control signs requests to the Function URL, and signing a POST body
 * needs its SHA-256 from the client. Browsers have SubtleCrypto on secure origins only (https and
 * localhost), which are the only places the signature is needed.
 */
async function contentSha256(body: string): Promise<Record<string, string>> {
  if (!globalThis.crypto?.subtle) return {};
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body));
  const hex = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
  return { 'x-amz-content-sha256': hex };
}

const sse: StrategyClient = {
  name: 'sse',
  label: 'SSE (Function URL)',
  summary: 'streams chunks over one HTTP response',
  order: 2,
  run: (url, request, handlers, signal) => postEvents(url, request, handlers, signal, { headers: contentSha256 }),
};
export default sse;
