// ttrpc client over any Duplex stream (unix socket, virtio-serial port, vsock): unary calls multiplexed on one
// connection, each on a fresh odd stream id, with deadlines, metadata and cancellation.
import type { Duplex } from "node:stream";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, HakoError } from "../common/errors.js";
import { type Logger, silentLogger } from "../common/log.js";
import { RequestSchema, type Response, ResponseSchema } from "../proto/gen/ttrpc/ttrpc_pb.js";
import { encodeFrame, type Frame, FrameDecoder, FrameType } from "./frame.js";
import { type Metadata, metadataToWire } from "./metadata.js";
import { errorFromStatus } from "./status.js";

export interface CallOptions {
  /** Sent to the server as timeout_nano and enforced here: the call fails with DeadlineExceeded. */
  timeoutMs?: number;
  metadata?: Metadata;
  /** Aborting fails the call with Cancelled; a late answer is then dropped. */
  signal?: AbortSignal;
}

export interface TtrpcClientOptions {
  /** Protocol problems (a peer's oversize frame) are logged here; silent when left out. */
  logger?: Logger;
  /** Applied to calls that name no timeout of their own. */
  defaultTimeoutMs?: number;
}

interface PendingCall {
  call: string;
  resolve(payload: Uint8Array): void;
  reject(err: HakoError): void;
}

const MAX_STREAM_ID = 0xffffffff;
const MAX_TIMER_MS = 0x7fffffff;

export class TtrpcClient {
  /** Resolves once the connection is gone, whichever side ended it. */
  readonly closed: Promise<void>;
  private readonly pending = new Map<number, PendingCall>();
  private readonly decoder = new FrameDecoder();
  private readonly log: Logger;
  private readonly defaultTimeoutMs: number | undefined;
  private nextStreamId = 1;
  private closeReason: HakoError | undefined;
  private resolveClosed!: () => void;

  constructor(
    private readonly stream: Duplex,
    options: TtrpcClientOptions = {},
  ) {
    // Used as given: the caller names its subsystem (agent client, events publisher); messages say "ttrpc".
    this.log = options.logger ?? silentLogger;
    this.defaultTimeoutMs = options.defaultTimeoutMs;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.on("end", () => this.shutdown("ttrpc connection closed by the server"));
    stream.on("close", () => this.shutdown("ttrpc connection closed"));
    stream.on("error", (err) => this.shutdown(`ttrpc connection failed: ${err.message}`));
  }

  call(service: string, method: string, payload: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    const name = `${service}/${method}`;
    if (this.closeReason) return Promise.reject(this.unavailable(name));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(cancelled(name, signal));
    const requested = options.timeoutMs ?? this.defaultTimeoutMs;
    const timeoutMs = requested !== undefined && Number.isFinite(requested) ? Math.max(0, requested) : undefined;

    const streamId = this.allocateStreamId();
    const request = create(RequestSchema, {
      service,
      method,
      payload,
      timeoutNano: timeoutMs === undefined ? 0n : BigInt(Math.max(1, Math.ceil(timeoutMs * 1e6))),
      metadata: metadataToWire(options.metadata),
    });
    let frame: Buffer;
    try {
      frame = encodeFrame({ streamId, type: FrameType.Request, flags: 0, payload: toBinary(RequestSchema, request) });
    } catch (err) {
      return Promise.reject(HakoError.from(err, Code.Internal, name));
    }

    return new Promise<Uint8Array>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => settle(cancelled(name, signal));
      const cleanup = () => {
        this.pending.delete(streamId);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const settle = (result: Uint8Array | HakoError) => {
        cleanup();
        if (result instanceof HakoError) reject(result);
        else resolve(result);
      };
      this.pending.set(streamId, { call: name, resolve: settle, reject: settle });
      // Node fires timers longer than 2^31-1 ms at once; such a deadline is as good as none locally.
      if (timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS) {
        timer = setTimeout(
          () => settle(new HakoError(Code.DeadlineExceeded, `ttrpc call ${name} timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.stream.write(frame);
    });
  }

  /** Ends the connection; calls still in flight fail with Unavailable. */
  close(): void {
    this.shutdown("ttrpc client closed");
    this.stream.destroy();
  }

  private allocateStreamId(): number {
    // Ids are never reused while a call holds them; after 2^31 calls they wrap around to 1.
    for (;;) {
      const id = this.nextStreamId;
      this.nextStreamId = id + 2 > MAX_STREAM_ID ? 1 : id + 2;
      if (!this.pending.has(id)) return id;
    }
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      const reason = HakoError.from(err).message;
      this.log.warn("closing ttrpc connection", { reason });
      this.shutdown(`ttrpc connection closed: ${reason}`);
      this.stream.destroy();
      return;
    }
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: Frame): void {
    const call = this.pending.get(frame.streamId);
    if (call === undefined) {
      // Normal after a timeout or cancellation: the agent may still answer. Nothing waits for it.
      this.log.debug("dropping ttrpc frame for no pending call", { stream: frame.streamId, type: frame.type });
      return;
    }
    if (frame.type !== FrameType.Response) {
      this.log.debug("ignoring ttrpc frame of unexpected type", { stream: frame.streamId, type: frame.type });
      return;
    }
    let response: Response;
    try {
      response = fromBinary(ResponseSchema, frame.payload);
    } catch (err) {
      call.reject(HakoError.from(err, Code.Internal, `ttrpc call ${call.call}: undecodable response`));
      return;
    }
    const failure = errorFromStatus(response.status, call.call);
    if (failure) call.reject(failure);
    else call.resolve(response.payload);
  }

  private shutdown(reason: string): void {
    if (this.closeReason) return;
    this.closeReason = new HakoError(Code.Unavailable, reason);
    const calls = [...this.pending.values()];
    this.pending.clear();
    for (const call of calls) call.reject(this.unavailable(call.call));
    this.resolveClosed();
  }

  private unavailable(call: string): HakoError {
    return new HakoError(Code.Unavailable, `ttrpc call ${call}: ${this.closeReason?.message ?? "connection closed"}`);
  }
}

function cancelled(call: string, signal: AbortSignal | undefined): HakoError {
  const reason: unknown = signal?.reason;
  if (reason instanceof HakoError) return reason;
  return new HakoError(
    Code.Cancelled,
    `ttrpc call ${call} was cancelled`,
    reason === undefined ? {} : { cause: reason },
  );
}
