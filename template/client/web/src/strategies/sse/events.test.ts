import { describe, expect, it } from 'vitest';
import { readEvents } from './events';

const STREAM =
  'id: 0\nevent: chunk\ndata: {"text":"Grüße, "}\n\n' +
  ': ping\n\n' +
  'id: 1\nevent: chunk\ndata: {"text":"naïve 🌍"}\n\n' +
  'event: complete\ndata: {"status":"done"}\n\n';

function body(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
}

async function collect(parts: Uint8Array[]) {
  const events: { id?: string; event?: string; data: string }[] = [];
  await readEvents(body(parts), ({ id, event, data }) => events.push({ id, event, data }));
  return events;
}

describe('readEvents', () => {
  it('reads the same events wherever the network splits the bytes, even inside a character', async () => {
    const bytes = new TextEncoder().encode(STREAM);
    const whole = await collect([bytes]);
    expect(whole).toEqual([
      { id: '0', event: 'chunk', data: '{"text":"Grüße, "}' },
      { id: '1', event: 'chunk', data: '{"text":"naïve 🌍"}' },
      { id: undefined, event: 'complete', data: '{"status":"done"}' },
    ]);
    for (let cut = 1; cut < bytes.length; cut += 1) {
      expect(await collect([bytes.slice(0, cut), bytes.slice(cut)])).toEqual(whole);
    }
    const oneByOne = Array.from(bytes, (byte) => Uint8Array.of(byte));
    expect(await collect(oneByOne)).toEqual(whole);
  });

  it('cancels the body when the handler rejects an event', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('event: chunk\ndata: x\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    await expect(
      readEvents(stream, () => {
        throw new Error('bad event');
      }),
    ).rejects.toThrow('bad event');
    expect(cancelled).toBe(true);
  });
});
