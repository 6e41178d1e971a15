// A mapping in the caller (anonymous memory backing a memslot, a vCPU's
// kvm_run): poke and peek at offsets, or name a place in it for a pointer slot.
import type { CallResult, RecordingSession } from '../calls.ts';
import { hex } from '../../../uapi/ioc.ts';
import type { WirePtrTarget } from '../../../uapi/wire.ts';
import { h } from './common.ts';

export class Mem {
  constructor(
    readonly s: RecordingSession,
    readonly handle: string,
    readonly len: number,
  ) {}
  poke(offset: number, bytes: Uint8Array): Promise<CallResult> {
    return this.s.call(`poke(${this.handle}+${hex(offset)}, ${bytes.length} bytes)`, {
      op: 'poke',
      mem: this.handle,
      offset,
      hex: h(bytes),
    });
  }
  peek(offset: number, len: number): Promise<CallResult> {
    return this.s.call(`peek(${this.handle}+${hex(offset)}, ${len})`, { op: 'peek', mem: this.handle, offset, len });
  }
  /** munmap the whole mapping: a memslot it backs keeps its user address, with no VMA behind it. */
  unmap(): Promise<CallResult> {
    return this.s.call(`munmap(${this.handle})`, { op: 'munmap', mem: this.handle });
  }
  at(offset = 0): WirePtrTarget {
    return { mem: this.handle, offset };
  }
}
