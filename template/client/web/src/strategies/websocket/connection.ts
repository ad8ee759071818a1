// One WebSocket per endpoint, shared by every request: requests are told apart by `requestId`
// (PROTOCOL.md, "WebSocket"). API Gateway closes a connection idle for 10 minutes, so an idle
// socket sends a `ping` message (no answer) every 5; any connection ends after 2 hours, so the
// socket opens again on the next request after a drop, and a drop fails the requests in flight
// with a clear error.
import { ProtocolError, isRecord, readMetrics, readUsage, type Completion, type GenerateRequest } from '../../protocol';
import type { StreamHandlers } from '../types';
import { Sequence } from './sequence';

interface Pending {
  sequence: Sequence;
  text: string;
  handlers: StreamHandlers;
  resolve(completion: Completion): void;
  reject(error: ProtocolError): void;
}

/** The constructor of a browser-compatible WebSocket (the global one, or `ws` in Node). */
export type WebSocketConstructor = new (url: string) => WebSocket;

/** Half of API Gateway's 10 minute idle timeout. */
export const KEEPALIVE_MS = 5 * 60_000;

export class Connection {
  private socket: WebSocket | undefined;
  private opening: Promise<WebSocket> | undefined;
  private readonly pending = new Map<string, Pending>();
  private ids = 0;
  private lastSent = 0;

  constructor(
    private readonly url: string,
    private readonly Socket: WebSocketConstructor = WebSocket,
  ) {}

  /** Requests in flight on this connection. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends one request and resolves with its completion. */
  async request(request: GenerateRequest, handlers: StreamHandlers, signal: AbortSignal): Promise<Completion> {
    signal.throwIfAborted();
    const socket = await this.open();
    signal.throwIfAborted();
    this.ids += 1;
    const requestId = `${Date.now().toString(36)}-${this.ids}`;
    return new Promise<Completion>((resolve, reject) => {
      const done = () => {
        this.pending.delete(requestId);
        signal.removeEventListener('abort', cancel);
      };
      const cancel = () => {
        done();
        reject(ProtocolError.client('CANCELLED', 'cancelled'));
        // The service stops streaming when its posts find the connection gone (410). Closing
        // is how a client says stop, so do it only when no other request shares the socket.
        if (this.pending.size === 0) socket.close(1000, 'cancelled');
      };
      this.pending.set(requestId, {
        sequence: new Sequence(),
        text: '',
        handlers,
        resolve: (completion) => {
          done();
          resolve(completion);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      signal.addEventListener('abort', cancel, { once: true });
      // tailInSuccess: the last words ride in the success frame, one post sooner.
      this.send(socket, { action: 'generate', requestId, tailInSuccess: true, payload: request });
    });
  }

  /** Opens the socket (the handshake and `$connect`) if it is not open; resolves once it is. */
  async connect(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    await this.open();
  }

  private send(socket: WebSocket, message: object): void {
    this.lastSent = Date.now();
    socket.send(JSON.stringify(message));
  }

  private open(): Promise<WebSocket> {
    if (this.socket?.readyState === 1) return Promise.resolve(this.socket);
    this.opening ??= new Promise<WebSocket>((resolve, reject) => {
      const socket = new this.Socket(this.url);
      let keepalive: ReturnType<typeof setInterval> | undefined;
      socket.onopen = () => {
        this.socket = socket;
        this.opening = undefined;
        this.lastSent = Date.now();
        keepalive = setInterval(() => {
          if (Date.now() - this.lastSent >= KEEPALIVE_MS) this.send(socket, { action: 'ping' });
        }, KEEPALIVE_MS / 5);
        resolve(socket);
      };
      socket.onmessage = (event: MessageEvent) => this.receive(event.data);
      socket.onclose = (event: CloseEvent) => {
        clearInterval(keepalive);
        this.opening = undefined;
        if (this.socket === socket) this.socket = undefined;
        reject(ProtocolError.client('NETWORK', `cannot connect to ${this.url} (close code ${event.code})`));
        this.failAll(`the connection closed (code ${event.code}) before the answer completed`);
      };
    });
    return this.opening;
  }

  private failAll(message: string): void {
    for (const pending of [...this.pending.values()]) {
      pending.reject(ProtocolError.client('NETWORK', message));
    }
  }

  private receive(data: unknown): void {
    let frame: unknown;
    try {
      frame = JSON.parse(String(data)) as unknown;
    } catch {
      return this.failAll('the server sent a frame that is not JSON');
    }
    if (!isRecord(frame) || typeof frame.requestId !== 'string') return;
    const pending = this.pending.get(frame.requestId);
    // Frames of a request this client gave up on (cancelled) are dropped.
    if (!pending) return;
    try {
      if (frame.type === 'error') {
        throw ProtocolError.fromBody(frame.payload, 'error frame');
      }
      pending.sequence.accept(frame.seq);
      const payload = isRecord(frame.payload) ? frame.payload : {};
      if (frame.type === 'chunk') {
        const piece = typeof payload.text === 'string' ? payload.text : '';
        pending.text += piece;
        pending.handlers.onChunk(piece);
      } else if (frame.type === 'success') {
        const tail = typeof payload.tail === 'string' ? payload.tail : '';
        if (tail) {
          pending.text += tail;
          pending.handlers.onChunk(tail);
        }
        // The chunks and the tail are the whole text, in order (the success frame's own
        // `text` is empty when the answer outgrew one frame).
        pending.resolve({
          text: pending.text,
          usage: readUsage(payload.usage),
          metrics: readMetrics(payload.metrics),
          stopReason: typeof payload.stopReason === 'string' ? payload.stopReason : undefined,
        });
      }
    } catch (error) {
      pending.reject(error instanceof ProtocolError ? error : ProtocolError.client('BAD_RESPONSE', String(error)));
    }
  }
}
