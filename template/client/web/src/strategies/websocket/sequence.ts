// PROTOCOL.md numbers every frame of one request from 0 without gaps, so a lost or reordered
// frame is detected instead of showing a silently wrong text.
import { ProtocolError } from '../../protocol';

/** Tracks one request's frames; `accept` throws on a gap or a reorder. */
export class Sequence {
  private next = 0;

  accept(seq: unknown): void {
    if (seq !== this.next) {
      const got = typeof seq === 'number' ? String(seq) : 'no seq';
      throw ProtocolError.client(
        'SEQUENCE',
        `frame ${got} arrived where ${this.next} was due: frames were lost or reordered`,
      );
    }
    this.next += 1;
  }
}
