// The forwarder's listener: a net.Server on a listening socket made elsewhere (in the pod netns, by
// sys/netns-socket.ts), which forwards each connection it accepts to the guest port the connection was headed for
// (forward-connection.ts). close() stops accepting, ends the live connections and waits for their guest side.
import { createServer, type Server, type Socket } from "node:net";
import type { GuestPorts } from "../agent/api/agent-api.js";
import type { Logger } from "../common/log.js";
import { originalDstPort, socketFd } from "../sys/netns-socket.js";
import { forwardConnection } from "./forward-connection.js";

export interface PortForwarderOptions {
  guest: GuestPorts;
  log: Logger;
  /** The guest port an accepted connection is for: SO_ORIGINAL_DST (the port before the REDIRECT) by default. */
  targetPort?: (socket: Socket) => number;
  /** Connections forwarded at once; more are reset. Default MAX_CONNECTIONS. */
  maxConnections?: number;
}

/**
 * Each live connection keeps a ReadPort (and at times a WritePort) in flight on the pod's one agent connection,
 * whose server runs at most 1024 calls at once (ttrpc/server.ts): this cap leaves room for every other call.
 */
export const MAX_CONNECTIONS = 256;

/** How long close() waits for the live connections' guest side before it stops waiting (a dead agent). */
const CLOSE_WAIT_MS = 2000;

export class PortForwarder {
  private readonly live = new Map<Socket, Promise<void>>();

  private constructor(
    private readonly server: Server,
    private readonly opts: PortForwarderOptions,
  ) {
    server.on("connection", (socket: Socket) => this.accept(socket));
    server.on("error", (err) => opts.log.error("port-forward listener failed", { err }));
  }

  /**
   * Serves connections on a listening descriptor (it becomes the server's: close() closes it), or on a new loopback
   * listener when `fd` is undefined (tests).
   */
  static async listen(fd: number | undefined, opts: PortForwarderOptions): Promise<PortForwarder> {
    // Half open: a client's end of input must not end what the guest still sends back.
    const server = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      const done = () => {
        server.off("error", reject);
        resolve();
      };
      if (fd === undefined) server.listen({ host: "127.0.0.1", port: 0 }, done);
      else server.listen({ fd }, done);
    });
    return new PortForwarder(server, opts);
  }

  /** The port the listener has (its own; the iptables rule redirects to it). */
  get port(): number {
    const a = this.server.address();
    return typeof a === "object" && a ? a.port : 0;
  }

  /** Connections being forwarded now. */
  get connections(): number {
    return this.live.size;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.live.keys()) socket.destroy();
    const pending = Promise.allSettled([...this.live.values(), closed]);
    await Promise.race([pending, new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
  }

  private accept(socket: Socket): void {
    const { log, guest } = this.opts;
    const max = this.opts.maxConnections ?? MAX_CONNECTIONS;
    if (this.live.size >= max) {
      log.warn("port-forward: too many connections at once; resetting a new one", { max });
      socket.resetAndDestroy();
      return;
    }
    let port: number;
    try {
      port = (this.opts.targetPort ?? ((s: Socket) => originalDstPort(socketFd(s))))(socket);
    } catch (err) {
      log.warn("port-forward: cannot tell which port a connection is for; closing it", { err });
      socket.resetAndDestroy();
      return;
    }
    const done = forwardConnection(socket, port, guest, log.child({ port })).finally(() => this.live.delete(socket));
    this.live.set(socket, done);
  }
}
