// WebSocket strategy: `generate` messages over one shared connection per endpoint.
import type { Completion, GenerateRequest } from '../../protocol';
import type { StrategyClient, StreamHandlers } from '../types';
import { Connection } from './connection';

const connections = new Map<string, Connection>();

/** config.json's endpoints are http(s) URLs; the socket opens the same place on ws(s). */
export function socketUrl(url: string): string {
  return url.replace(/^http(s?):/, 'ws$1:');
}

function connection(url: string): Connection {
  let found = connections.get(url);
  if (!found) {
    found = new Connection(socketUrl(url));
    connections.set(url, found);
  }
  return found;
}

function run(url: string, request: GenerateRequest, handlers: StreamHandlers, signal: AbortSignal): Promise<Completion> {
  return connection(url).request(request, handlers, signal);
}

const websocket: StrategyClient = {
  name: 'websocket',
  label: 'WebSocket (API Gateway)',
  summary: 'pushes chunks over an open connection',
  order: 1,
  run,
  connect: (url, signal) => connection(url).connect(signal),
};
export default websocket;
