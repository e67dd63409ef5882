// Finds a new host client in the byte stream of a virtio-serial port when the guest never saw the old one leave.
// A host hang-up reaches the guest only as a window in which reads return 0; if a new client connects before the
// agent reads again (a shim killed and replaced within a second, a slow guest under TCG), the port just goes on
// delivering bytes, now the new client's, into the old connection. ttrpc clients number their requests 1, 3, 5, …
// upward and never reuse one on a connection, so a request whose stream id is not above the highest seen is the
// first request of a new client: the connection must end right before that frame.
import { HEADER_LENGTH } from "../../ttrpc/frame.js";

const REQUEST = 1;

export class HostRestartWatch {
  private readonly header = Buffer.alloc(HEADER_LENGTH);
  private have = 0;
  private payloadLeft = 0;
  private highest = 0;

  /** Starts over for a new connection: its first byte begins a frame. */
  reset(): void {
    this.have = 0;
    this.payloadLeft = 0;
    this.highest = 0;
  }

  /**
   * Follows the frames in the next bytes of the connection. Returns the offset in `chunk` where a new client's first
   * frame begins, or undefined. When that frame's header began in an earlier chunk (already handed on), the offset
   * is 0: the old connection then ends on a partial frame and the new one starts mid-frame, which its ttrpc server
   * drops as garbage, and the new client's retry goes through.
   */
  feed(chunk: Uint8Array): number | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const skip = Math.min(this.payloadLeft, chunk.length - i);
        this.payloadLeft -= skip;
        i += skip;
        continue;
      }
      const start = i - this.have;
      const take = Math.min(HEADER_LENGTH - this.have, chunk.length - i);
      this.header.set(chunk.subarray(i, i + take), this.have);
      this.have += take;
      i += take;
      if (this.have < HEADER_LENGTH) break;
      this.have = 0;
      this.payloadLeft = this.header.readUInt32BE(0);
      const streamId = this.header.readUInt32BE(4);
      if (this.header.readUInt8(8) !== REQUEST) continue;
      if (this.highest > 0 && streamId <= this.highest) {
        this.highest = streamId;
        return Math.max(0, start);
      }
      this.highest = streamId;
    }
    return undefined;
  }
}
