// WebSocket strategy: `generate` messages over one shared connection per endpoint.
import type { Completion, GenerateRequest } from '../../protocol';
import type { StrategyClient, StreamHandlers } from '../types';
import { Connection } from './connection';

const connections = new Map<string, Connection>();

function run(url: string, request: GenerateRequest, handlers: StreamHandlers, signal: AbortSignal): Promise<Completion> {
  let connection = connections.get(url);
  if (!connection) {
    connection = new Connection(url);
    connections.set(url, connection);
  }
  return connection.request(request, handlers, signal);
}

const websocket: StrategyClient = { name: 'websocket', label: 'WebSocket (API Gateway)', order: 1, run };
export default websocket;
