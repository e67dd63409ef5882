// ttrpc framing: a 10-byte big-endian header (payload length, stream id, type, flags) followed by the payload.
// The decoder is pure and bounded — bytes in, frames out, no sockets — so one connection's garbage can only ever
// cost that connection, and the codec can be tested byte by byte.
import { Code, HakoError } from "../common/errors.js";

export const HEADER_LENGTH = 10;
/** Largest payload a peer may announce; Go's ttrpc uses the same limit. */
export const MAX_PAYLOAD_LENGTH = 4 << 20;

export enum FrameType {
  Request = 1,
  Response = 2,
  Data = 3,
}

/** Flag bits: on a request, RemoteClosed = no data frames follow, RemoteOpen = a stream follows; on data, closed. */
export const FrameFlag = {
  RemoteClosed: 0x1,
  RemoteOpen: 0x2,
} as const;

export interface Frame {
  streamId: number;
  /** A FrameType when the peer is well behaved; kept as a number because the wire can carry anything. */
  type: number;
  flags: number;
  payload: Uint8Array;
}

export function isKnownFrameType(type: number): type is FrameType {
  return type === FrameType.Request || type === FrameType.Response || type === FrameType.Data;
}

/** Whether the sender of this frame will send nothing more on its stream. */
export function isRemoteClosed(frame: Frame): boolean {
  return (frame.flags & FrameFlag.RemoteClosed) !== 0;
}

/** Whether a request opens a stream (data frames follow) rather than being a plain unary call. */
export function isRemoteOpen(frame: Frame): boolean {
  return frame.type === FrameType.Request && (frame.flags & FrameFlag.RemoteOpen) !== 0;
}

/** Header and payload in one buffer, so that one write puts a whole frame on the wire. */
export function encodeFrame(frame: Frame, maxPayloadLength = MAX_PAYLOAD_LENGTH): Buffer {
  const length = frame.payload.length;
  if (length > maxPayloadLength) {
    throw new HakoError(
      Code.ResourceExhausted,
      `ttrpc frame payload of ${length} bytes on stream ${frame.streamId} exceeds the ${maxPayloadLength}-byte limit`,
    );
  }
  const out = Buffer.allocUnsafe(HEADER_LENGTH + length);
  out.writeUInt32BE(length, 0);
  out.writeUInt32BE(frame.streamId >>> 0, 4);
  out.writeUInt8(frame.type, 8);
  out.writeUInt8(frame.flags & 0xff, 9);
  out.set(frame.payload, HEADER_LENGTH);
  return out;
}

const EMPTY = Buffer.alloc(0);

interface Header {
  length: number;
  streamId: number;
  type: number;
  flags: number;
}

/**
 * Feed it chunks as they arrive; it returns every frame completed so far. A header announcing more than the limit
 * is an error (the connection cannot be resynchronised), and the decoder stays failed afterwards.
 * Frame types are reported as received; whether an unknown type is acceptable is the caller's decision.
 */
export class FrameDecoder {
  // A queue with a moving head: shifting an array per byte would make a frame fed byte by byte quadratic.
  private chunks: Buffer[] = [];
  private head = 0;
  private size = 0;
  private header: Header | undefined;
  private failure: HakoError | undefined;

  constructor(private readonly maxPayloadLength = MAX_PAYLOAD_LENGTH) {}

  /** Bytes received but not yet returned as part of a frame. */
  get buffered(): number {
    return this.size + (this.header ? HEADER_LENGTH : 0);
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.size += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.header === undefined) {
        if (this.size < HEADER_LENGTH) break;
        const h = this.take(HEADER_LENGTH);
        const header: Header = {
          length: h.readUInt32BE(0),
          streamId: h.readUInt32BE(4),
          type: h.readUInt8(8),
          flags: h.readUInt8(9),
        };
        if (header.length > this.maxPayloadLength) {
          this.failure = new HakoError(
            Code.ResourceExhausted,
            `ttrpc frame on stream ${header.streamId} announces ${header.length} bytes, over the ${this.maxPayloadLength}-byte limit`,
          );
          this.chunks = [];
          this.head = 0;
          this.size = 0;
          throw this.failure;
        }
        this.header = header;
      }
      if (this.size < this.header.length) break;
      const { streamId, type, flags, length } = this.header;
      frames.push({ streamId, type, flags, payload: this.take(length) });
      this.header = undefined;
    }
    return frames;
  }

  /** Call at end of input: throws when the stream stopped in the middle of a frame. */
  finish(): void {
    if (this.failure) throw this.failure;
    if (this.buffered > 0) {
      const what = this.header
        ? `frame on stream ${this.header.streamId} (${this.size} of ${this.header.length} payload bytes)`
        : `frame header (${this.size} of ${HEADER_LENGTH} bytes)`;
      throw new HakoError(Code.DataLoss, `ttrpc stream ended inside a ${what}`);
    }
  }

  /** Removes n bytes (n <= size) from the front; zero-copy when they sit in one chunk. */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    this.size -= n;
    const first = this.chunks[this.head] as Buffer;
    if (first.length >= n) {
      if (first.length === n) this.dropHead();
      else this.chunks[this.head] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.head] as Buffer;
      const want = n - filled;
      if (chunk.length <= want) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.dropHead();
      } else {
        chunk.copy(out, filled, 0, want);
        this.chunks[this.head] = chunk.subarray(want);
        filled += want;
      }
    }
    return out;
  }

  private dropHead(): void {
    this.head++;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
