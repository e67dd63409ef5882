// Splits QMP's byte stream into JSON messages, one per line. Pure and bounded: feed bytes, get parsed values;
// a line longer than the limit or a line that is not a JSON object is an error, never an unbounded buffer.
import { Code, HakoError } from "../../common/errors.js";

export type QmpMessage = Record<string, unknown>;

export class QmpLineReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(readonly maxLineBytes = 4 * 1024 * 1024) {}

  /** Returns every complete message in `chunk` (plus what was buffered before it). */
  feed(chunk: Buffer): QmpMessage[] {
    const out: QmpMessage[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      this.checkSize(piece.length);
      const line = this.pending.length > 0 ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
      const text = line.toString("utf8").trim();
      if (text !== "") out.push(parseMessage(text));
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.checkSize(rest.length);
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
    return out;
  }

  private checkSize(adding: number) {
    if (this.pendingBytes + adding > this.maxLineBytes) {
      throw new HakoError(Code.ResourceExhausted, `qmp message longer than ${this.maxLineBytes} bytes`);
    }
  }
}

function parseMessage(text: string): QmpMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HakoError(Code.DataLoss, `qmp sent a line that is not JSON: ${text.slice(0, 80)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HakoError(Code.DataLoss, `qmp sent a line that is not a JSON object: ${text.slice(0, 80)}`);
  }
  return value as QmpMessage;
}
