// One connection served by TtrpcServer: decodes frames, runs each request's handler concurrently and writes the
// responses. The connection lives until the peer stops sending (EOF ends it, as in Go's ttrpc). A peer that breaks the protocol (garbage, oversize length, bad protobuf, reused stream id) loses this
// connection only, with the reason logged; the server and its other connections go on.
import type { Duplex } from "node:stream";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, HakoError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import { type Request, RequestSchema, ResponseSchema, StatusSchema } from "../proto/gen/ttrpc/ttrpc_pb.js";
import { encodeFrame, type Frame, FrameDecoder, FrameType, isKnownFrameType, isRemoteOpen } from "./frame.js";
import { metadataFromWire } from "./metadata.js";
import { statusFromError } from "./status.js";

export interface CallContext {
  service: string;
  method: string;
  /** Request metadata, keys in lower case. */
  metadata: Map<string, string[]>;
  /** Epoch milliseconds, when the caller sent a timeout. */
  deadline?: number;
  /** Aborts at the deadline or when the connection closes; its reason is a HakoError. */
  signal: AbortSignal;
}

export type RawHandler = (payload: Uint8Array, ctx: CallContext) => Uint8Array | Promise<Uint8Array>;

/** Finds the handler for service/method, or the error to answer (Unimplemented). */
export type Dispatch = (service: string, method: string) => RawHandler | HakoError;

// Go's server always sends a status, code 0 included; some clients may look for it.
const OK_STATUS = create(StatusSchema, { code: Code.Ok });

/** Bytes of answers the peer may leave unread before we stop reading its requests. */
const MAX_UNREAD_ANSWERS = 8 << 20;
const MAX_TIMER_MS = 0x7fffffff;

export class ServerConnection {
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder();
  private readonly inflight = new Map<number, AbortController>();
  // Frames received while maxConcurrentCalls handlers run; reading stops until they are taken, so this stays small.
  private queue: Frame[] = [];
  private queueHead = 0;
  private writeBlocked = false;
  private paused = false;
  private isClosed = false;
  private resolveClosed!: () => void;

  constructor(
    private readonly stream: Duplex,
    private readonly dispatch: Dispatch,
    private readonly log: Logger,
    private readonly maxConcurrentCalls: number,
  ) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.on("end", () => this.onEnd());
    stream.on("error", (err) => this.log.debug("ttrpc connection error", { err }));
    stream.on("close", () => this.onClose());
  }

  /** Closes the connection; handlers still running see their signal abort. */
  destroy(): void {
    this.stream.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(HakoError.from(err).message);
      return;
    }
    if (frames.length === 0) return;
    if (this.queueHead === this.queue.length) {
      this.queue = frames;
      this.queueHead = 0;
    } else {
      this.queue.push(...frames);
    }
    this.pump();
  }

  /** Takes queued frames while handler slots are free, then reads on only if nothing is left waiting. */
  private pump(): void {
    while (this.queueHead < this.queue.length && this.inflight.size < this.maxConcurrentCalls && !this.isClosed) {
      const frame = this.queue[this.queueHead] as Frame;
      this.queueHead++;
      this.onFrame(frame);
    }
    this.updateFlow();
  }

  private updateFlow(): void {
    if (this.isClosed) return;
    const hold = this.queueHead < this.queue.length || this.writeBlocked;
    if (hold && !this.paused) this.stream.pause();
    else if (!hold && this.paused) this.stream.resume();
    this.paused = hold;
  }

  private onEnd(): void {
    try {
      this.decoder.finish();
    } catch (err) {
      this.fail(HakoError.from(err).message);
      return;
    }
    // As with Go's ttrpc, a peer that stops sending is gone: its calls in flight are cancelled (a long poll for a
    // dead shim must not hold the agent), and answers already written have been flushed.
    this.stream.end();
    this.onClose();
  }

  private onFrame(frame: Frame): void {
    const { streamId, type } = frame;
    if (!isKnownFrameType(type)) {
      this.fail(`unknown frame type ${type} on stream ${streamId}`);
      return;
    }
    if (type !== FrameType.Request) {
      // No streaming RPCs are served; stray data or response frames are ignored, as Go's ttrpc does.
      this.log.debug("ignoring ttrpc frame", { stream: streamId, type });
      return;
    }
    if (streamId % 2 !== 1) {
      this.fail(`request on even stream id ${streamId}`);
      return;
    }
    if (this.inflight.has(streamId)) {
      this.fail(`request reuses stream id ${streamId} still in flight`);
      return;
    }
    let request: Request;
    try {
      request = fromBinary(RequestSchema, frame.payload);
    } catch (err) {
      this.fail(`undecodable request on stream ${streamId}: ${HakoError.from(err).message}`);
      return;
    }
    if (isRemoteOpen(frame)) {
      this.respond(streamId, new HakoError(Code.Unimplemented, `streaming call ${callName(request)} is not supported`));
      return;
    }
    void this.handle(streamId, request);
  }

  private async handle(streamId: number, request: Request): Promise<void> {
    const name = callName(request);
    const controller = new AbortController();
    this.inflight.set(streamId, controller);
    let timer: NodeJS.Timeout | undefined;
    const ctx: CallContext = {
      service: request.service,
      method: request.method,
      metadata: metadataFromWire(request.metadata),
      signal: controller.signal,
    };
    if (request.timeoutNano !== 0n) {
      // A negative timeout is a deadline that passed in transit (Go computes it as deadline - now): abort at once.
      const ms = Math.max(0, Number(request.timeoutNano / 1_000_000n));
      ctx.deadline = Date.now() + ms;
      const onDeadline = () =>
        controller.abort(new HakoError(Code.DeadlineExceeded, `ttrpc call ${name} passed its ${ms} ms deadline`));
      // Node fires timers longer than 2^31-1 ms at once; a deadline that far away never fires here.
      if (ms <= MAX_TIMER_MS) timer = setTimeout(onDeadline, ms);
    }
    let result: Uint8Array | HakoError;
    try {
      const handler = this.dispatch(request.service, request.method);
      if (handler instanceof HakoError) throw handler;
      result = await handler(request.payload, ctx);
    } catch (err) {
      result = HakoError.from(err);
      if (result.code === Code.Unknown) this.log.warn("ttrpc handler failed", { call: name, err });
    } finally {
      if (timer) clearTimeout(timer);
      this.inflight.delete(streamId);
    }
    this.respond(streamId, result);
    this.pump();
  }

  private respond(streamId: number, result: Uint8Array | HakoError): void {
    if (this.isClosed || this.stream.writableEnded) return;
    let frame: Buffer;
    try {
      frame = encodeFrame({ streamId, type: FrameType.Response, flags: 0, payload: encodeResponse(result) });
    } catch (err) {
      // Only an oversize answer fails here; tell the caller rather than leave it waiting.
      const payload = encodeResponse(HakoError.from(err, Code.ResourceExhausted));
      frame = encodeFrame({ streamId, type: FrameType.Response, flags: 0, payload });
    }
    // A peer that sends calls but never reads its answers must not grow our memory: stop reading until it drains.
    if (!this.stream.write(frame) && this.stream.writableLength > MAX_UNREAD_ANSWERS && !this.writeBlocked) {
      this.writeBlocked = true;
      this.stream.once("drain", () => {
        this.writeBlocked = false;
        this.updateFlow();
      });
      this.updateFlow();
    }
  }

  private fail(reason: string): void {
    if (this.isClosed) return;
    this.log.warn("closing ttrpc connection", { reason });
    this.stream.destroy();
    this.onClose();
  }

  private onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const reason = new HakoError(Code.Cancelled, "ttrpc connection closed");
    for (const controller of this.inflight.values()) controller.abort(reason);
    this.inflight.clear();
    this.queue = [];
    this.queueHead = 0;
    this.resolveClosed();
  }
}

function encodeResponse(result: Uint8Array | HakoError): Uint8Array {
  const init =
    result instanceof HakoError ? { status: statusFromError(result) } : { status: OK_STATUS, payload: result };
  return toBinary(ResponseSchema, create(ResponseSchema, init));
}

function callName(request: Request): string {
  return `${request.service}/${request.method}`;
}
