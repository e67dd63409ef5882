// The guest half of hako's port-forward extension (HakoPortForwardService): TCP connections the host opens to
// 127.0.0.1:<port> in the guest's network namespace, which is the pod's, kept by id until the host closes them.
// Reads are pulled like a process's stdout (PullReader: bounded buffer, so a fast guest server waits for the host).
import { connect, type Socket } from "node:net";
import { Code, errnoCode, HakoError, invalidArgument, notFound } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import type { CallOptions, GuestPorts } from "../api/agent-api.js";
import { PullReader } from "./stdio.js";

interface Connection {
  port: number;
  socket: Socket;
  reader: PullReader;
}

/** Largest connection id before the counter wraps (ids are uint32 on the wire; 0 is never used). */
const MAX_ID = 0xffff_ffff;

export class PortConnections implements GuestPorts {
  private readonly connections = new Map<number, Connection>();
  private lastId = 0;

  /** @param host the address connected to: the guest's loopback; tests of the fake agent use the host's. */
  constructor(
    private readonly log: Logger,
    private readonly host = "127.0.0.1",
  ) {}

  /** Connections open now. */
  get size(): number {
    return this.connections.size;
  }

  async openPort(port: number): Promise<number> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw invalidArgument(`port ${port}: not a TCP port (1-65535)`, { port });
    }
    const socket = await this.connect(port);
    const id = this.newId();
    const reader = new PullReader(socket);
    socket.on("error", (err) => this.log.debug("port connection error", { id, port, err }));
    socket.on("close", () => this.connections.delete(id));
    this.connections.set(id, { port, socket, reader });
    this.log.debug("port connection opened", { id, port });
    return id;
  }

  /**
   * A read whose signal aborts closes the connection: over ttrpc that happens when the host's connection to the
   * agent is gone (a crashed shim), and then nobody is left to read or close it.
   */
  async readPort(id: number, max: number, opts?: CallOptions): Promise<Uint8Array | null> {
    const c = this.connections.get(id);
    // Closed and forgotten (the socket closed after the guest side ended): that is its end of stream.
    if (!c) return null;
    const signal = opts?.signal;
    const abandon = () => void this.closePort(id);
    signal?.addEventListener("abort", abandon, { once: true });
    try {
      return await c.reader.read(max, signal);
    } finally {
      signal?.removeEventListener("abort", abandon);
    }
  }

  async writePort(id: number, data: Uint8Array): Promise<number> {
    const c = this.get(id);
    if (c.socket.writableEnded || c.socket.destroyed) {
      throw new HakoError(Code.FailedPrecondition, `port connection ${id} (port ${c.port}) is closed for writing`);
    }
    await new Promise<void>((resolve, reject) => {
      c.socket.write(data, (err) =>
        err
          ? reject(new HakoError(Code.Unavailable, `port connection ${id} (port ${c.port}): ${err.message}`))
          : resolve(),
      );
    });
    return data.length;
  }

  async closeWritePort(id: number): Promise<void> {
    this.get(id).socket.end();
  }

  async closePort(id: number): Promise<void> {
    const c = this.connections.get(id);
    if (!c) return;
    this.connections.delete(id);
    c.socket.destroy();
    this.log.debug("port connection closed", { id, port: c.port });
  }

  /** Closes every connection (the host that opened them is gone). */
  closeAll(): void {
    for (const id of [...this.connections.keys()]) void this.closePort(id);
  }

  private get(id: number): Connection {
    const c = this.connections.get(id);
    if (!c) throw notFound(`port connection ${id} not found`, { id });
    return c;
  }

  private newId(): number {
    do this.lastId = this.lastId >= MAX_ID ? 1 : this.lastId + 1;
    while (this.connections.has(this.lastId));
    return this.lastId;
  }

  private connect(port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      // Half open: the host's end of input (closeWritePort) must not end what the guest server still sends.
      const socket = connect({ host: this.host, port, allowHalfOpen: true });
      socket.once("connect", () => {
        socket.removeAllListeners("error");
        resolve(socket);
      });
      socket.once("error", (err) => {
        const refused = errnoCode(err) === "ECONNREFUSED";
        reject(
          new HakoError(
            refused ? Code.Unavailable : Code.Internal,
            refused
              ? `nothing listens on ${this.host}:${port} in the guest (connection refused)`
              : `connecting to ${this.host}:${port} in the guest: ${err.message}`,
            { cause: err, fields: { port } },
          ),
        );
      });
    });
  }
}
