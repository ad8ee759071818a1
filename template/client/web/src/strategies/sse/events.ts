// Reads a text/event-stream body with eventsource-parser: events may be split anywhere across
// network chunks, even inside a UTF-8 character.
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/**
 * Calls `onEvent` for each event of the stream, in order, until the body ends. If `onEvent`
 * throws, the body is cancelled (the server sees the client leave) and the error is rethrown.
 */
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: EventSourceMessage) => void,
): Promise<void> {
  const parser = createParser({ onEvent });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    parser.feed(decoder.decode());
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
}
