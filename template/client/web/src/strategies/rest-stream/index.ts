// REST streaming strategy: POST the request to an API Gateway REST API whose Lambda integration
// streams its response, and read the same event stream as the SSE strategy (PROTOCOL.md,
// "Server-Sent Events"; read in src/event-stream.ts). Only the way in differs: the REST API behind the
// CDN, which adds its origin secret, so the page signs nothing.
import { postEvents } from '../../event-stream';
import type { StrategyClient } from '../types';

const restStream: StrategyClient = {
  name: 'rest-stream',
  label: 'REST streaming (API Gateway)',
  summary: 'streams chunks through a REST API',
  order: 4,
  run: (url, request, handlers, signal) => postEvents(url, request, handlers, signal),
};
export default restStream;
