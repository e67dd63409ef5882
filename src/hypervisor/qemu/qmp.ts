// A QMP client, written from the protocol: the server greets with {"QMP": {...}}, the client must send
// qmp_capabilities before anything else; each command carries an id that its {"return"} or {"error"} echoes;
// {"event"} messages arrive at any time. A lost connection fails every pending command at once.
import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { Code, HakoError } from "../../common/errors.js";
import { type Logger, silentLogger } from "../../common/log.js";
import { QmpLineReader, type QmpMessage } from "./qmp-reader.js";

export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  /** Seconds since the epoch, from QEMU's timestamp. */
  timestamp: number;
}

export interface QmpOptions {
  /** How long to wait for the connection and greeting. */
  connectTimeoutMs?: number;
  /** Default timeout of each command. */
  commandTimeoutMs?: number;
  logger?: Logger;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: HakoError) => void;
  timer: NodeJS.Timeout;
}

export class QmpClient {
  private readonly events = new EventEmitter();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedError: HakoError | undefined;
  private resolveClosed!: () => void;
  /** Resolves when the connection is gone (closed by either side). */
  readonly closed = new Promise<void>((r) => {
    this.resolveClosed = r;
  });

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
    readonly version: string,
    private readonly commandTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /** Connects to a QMP unix socket, reads the greeting and negotiates capabilities. */
  static async connect(path: string, options: QmpOptions = {}): Promise<QmpClient> {
    const logger = (options.logger ?? silentLogger).child({ subsystem: "qmp" });
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    const socket = connect(path);
    const reader = new QmpLineReader();
    const greeting = await new Promise<QmpMessage>((resolve, reject) => {
      const fail = (err: HakoError) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () => fail(new HakoError(Code.DeadlineExceeded, `qmp ${path}: no greeting within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onData = (chunk: Buffer) => {
        let messages: QmpMessage[];
        try {
          messages = reader.feed(chunk);
        } catch (err) {
          return fail(HakoError.from(err, Code.DataLoss, `qmp ${path}`));
        }
        const first = messages[0];
        if (!first) return;
        socket.off("data", onData);
        socket.off("error", onError);
        socket.off("close", onClose);
        clearTimeout(timer);
        if (!("QMP" in first)) return fail(new HakoError(Code.DataLoss, `qmp ${path}: expected a greeting`));
        // Anything after the greeting in the same chunk would be a protocol violation; the server waits for us.
        resolve(first);
      };
      const onError = (err: Error) =>
        fail(new HakoError(Code.Unavailable, `qmp ${path}: cannot connect: ${err.message}`, { cause: err }));
      const onClose = () => fail(new HakoError(Code.Unavailable, `qmp ${path}: closed before the greeting`));
      socket.on("data", onData);
      socket.on("error", onError);
      socket.on("close", onClose);
    });
    const version = describeVersion(greeting);
    const client = new QmpClient(socket, path, version, options.commandTimeoutMs ?? 30000, logger);
    client.attach(reader);
    await client.execute("qmp_capabilities");
    logger.debug("qmp connected", { path, version });
    return client;
  }

  private attach(reader: QmpLineReader) {
    this.socket.on("data", (chunk: Buffer) => {
      let messages: QmpMessage[];
      try {
        messages = reader.feed(chunk);
      } catch (err) {
        this.shutdown(HakoError.from(err, Code.DataLoss, `qmp ${this.path}`));
        return;
      }
      for (const m of messages) this.dispatch(m);
    });
    this.socket.on("error", (err) => {
      this.shutdown(new HakoError(Code.Unavailable, `qmp ${this.path}: ${err.message}`, { cause: err }));
    });
    this.socket.on("close", () =>
      this.shutdown(new HakoError(Code.Unavailable, `qmp ${this.path}: connection closed`)),
    );
  }

  private dispatch(m: QmpMessage) {
    if (typeof m.event === "string") {
      const ts = m.timestamp as { seconds?: number; microseconds?: number } | undefined;
      const event: QmpEvent = {
        event: m.event,
        data: (m.data as Record<string, unknown>) ?? {},
        timestamp: (ts?.seconds ?? 0) + (ts?.microseconds ?? 0) / 1e6,
      };
      this.logger.debug("qmp event", { event: event.event });
      this.events.emit("event", event);
      return;
    }
    const id = typeof m.id === "number" ? m.id : undefined;
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p || id === undefined) {
      this.logger.warn("qmp reply matches no pending command", { id: m.id });
      return;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    if ("error" in m) {
      const e = (m.error ?? {}) as { class?: string; desc?: string };
      p.reject(
        new HakoError(errorCode(e.class), `qmp ${p.command}: ${e.desc ?? "failed"}`, {
          fields: { qmpClass: e.class },
        }),
      );
    } else p.resolve(m.return);
  }

  /** Runs one command and resolves with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const limit = timeoutMs ?? this.commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HakoError(Code.DeadlineExceeded, `qmp ${command}: no reply within ${limit} ms`));
      }, limit);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      const message = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
      this.socket.write(`${JSON.stringify(message)}\n`);
    });
  }

  /** Calls `listener` for every event; returns a function that stops listening. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.events.on("event", listener);
    return () => this.events.off("event", listener);
  }

  /** Resolves with the next event named `name` (and matching `filter`), or fails after the timeout. */
  waitForEvent(name: string, timeoutMs: number, filter: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        stop();
      };
      const timer = setTimeout(() => {
        done();
        reject(new HakoError(Code.DeadlineExceeded, `qmp ${this.path}: no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const stop = this.onEvent((e) => {
        if (e.event === name && filter(e)) {
          done();
          resolve(e);
        }
      });
      void this.closed.then(() => {
        if (this.closedError) {
          done();
          reject(this.closedError);
        }
      });
    });
  }

  close(): void {
    this.shutdown(new HakoError(Code.Unavailable, `qmp ${this.path}: closed by the client`));
  }

  get isClosed(): boolean {
    return this.closedError !== undefined;
  }

  private shutdown(err: HakoError) {
    if (this.closedError) return;
    this.closedError = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new HakoError(err.code, `qmp ${p.command}: ${err.message}`, { cause: err }));
    }
    this.pending.clear();
    this.socket.destroy();
    this.resolveClosed();
  }
}

function describeVersion(greeting: QmpMessage): string {
  const v = (greeting.QMP as { version?: { qemu?: { major?: number; minor?: number; micro?: number } } })?.version
    ?.qemu;
  return v ? `${v.major}.${v.minor}.${v.micro}` : "unknown";
}

/** QMP error classes to status codes. */
function errorCode(errorClass: string | undefined): Code {
  switch (errorClass) {
    case "CommandNotFound":
      return Code.Unimplemented;
    case "DeviceNotFound":
      return Code.NotFound;
    case "DeviceNotActive":
    case "KVMMissingCap":
      return Code.FailedPrecondition;
    default:
      return Code.InvalidArgument; // GenericError: usually bad arguments or a state that refuses them
  }
}
