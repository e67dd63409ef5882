// ttrpc server: raw or protobuf-typed handlers, served over any Duplex or a unix socket.
import { lstat, unlink } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import type { Duplex } from "node:stream";
import {
  create,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, errnoCode, HakoError } from "../common/errors.js";
import { type Logger, silentLogger } from "../common/log.js";
import { type CallContext, type RawHandler, ServerConnection } from "./server-connection.js";
import { answers } from "./socket-probe.js";

export type { CallContext, RawHandler } from "./server-connection.js";

type MethodOf<S extends DescService, K extends keyof S["method"]> = S["method"][K];

/** One async method per unary RPC, named by the method's localName (camelCase); a missing one is Unimplemented. */
export type ServiceImpl<S extends DescService> = {
  [K in keyof S["method"]]?: (
    request: MessageShape<MethodOf<S, K>["input"]>,
    ctx: CallContext,
  ) => MessageInitShape<MethodOf<S, K>["output"]> | Promise<MessageInitShape<MethodOf<S, K>["output"]>>;
};

export interface TtrpcServerOptions {
  /** Why a connection was closed, handler failures; silent when left out. */
  logger?: Logger;
  /** Handlers one connection may have running; further requests wait (and the connection is not read meanwhile). */
  maxConcurrentCalls?: number;
}

export class TtrpcServer {
  private readonly handlers = new Map<string, RawHandler>();
  private readonly services = new Set<string>();
  private readonly connections = new Set<ServerConnection>();
  private readonly listeners: { server: Server; path: string }[] = [];
  private readonly log: Logger;
  private readonly maxConcurrentCalls: number;

  constructor(options: TtrpcServerOptions = {}) {
    // Used as given: the caller names its subsystem; messages say "ttrpc".
    this.log = options.logger ?? silentLogger;
    this.maxConcurrentCalls = options.maxConcurrentCalls ?? 1024;
  }

  /** Connections being served now (for tests and metrics). */
  get connectionCount(): number {
    return this.connections.size;
  }

  register(service: string, method: string, handler: RawHandler): void {
    this.services.add(service);
    this.handlers.set(`${service}/${method}`, handler);
  }

  addService<S extends DescService>(desc: S, impl: ServiceImpl<S>): void {
    this.services.add(desc.typeName);
    const methods = impl as Record<string, unknown>;
    for (const method of desc.methods) {
      const fn = methods[method.localName];
      if (typeof fn !== "function") continue;
      if (method.methodKind !== "unary") {
        throw new HakoError(Code.InvalidArgument, `ttrpc method ${desc.typeName}/${method.name} is not unary`);
      }
      this.register(
        desc.typeName,
        method.name,
        typedHandler(method, (req, ctx) => fn.call(impl, req, ctx)),
      );
    }
  }

  /** Serves one connection; resolves when it closes. */
  serve(stream: Duplex): Promise<void> {
    const connection = new ServerConnection(
      stream,
      (service, method) => this.dispatch(service, method),
      this.log,
      this.maxConcurrentCalls,
    );
    this.connections.add(connection);
    return connection.closed.then(() => void this.connections.delete(connection));
  }

  /**
   * Serves a unix socket at path, replacing a stale socket file left by a dead process; a path where another
   * process still listens is AlreadyExists.
   */
  async listen(path: string): Promise<void> {
    await removeStaleSocket(path);
    const server = createServer((socket) => void this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) => reject(HakoError.from(err, listenErrorCode(err), `cannot listen on ${path}`)));
      server.listen(path, () => {
        server.removeAllListeners("error");
        resolve();
      });
    });
    server.on("error", (err) => this.log.error("ttrpc listener failed", { path, err }));
    this.listeners.push({ server, path });
  }

  /**
   * Serves the listening unix socket `fd` (bound to `path` by another process, which handed it over); `path` is
   * removed at close() like a socket this server bound. Internal when the fd is not a listening socket.
   */
  async listenOnFd(fd: number, path: string): Promise<void> {
    const server = createServer((socket) => void this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) => reject(HakoError.from(err, Code.Internal, `cannot serve fd ${fd} (${path})`)));
      server.listen({ fd }, () => {
        server.removeAllListeners("error");
        resolve();
      });
    });
    server.on("error", (err) => this.log.error("ttrpc listener failed", { path, err }));
    this.listeners.push({ server, path });
  }

  /** Stops listening, removes the socket files and closes every connection. */
  async close(): Promise<void> {
    const listeners = this.listeners.splice(0);
    const stopped = listeners.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve())));
    const connections = [...this.connections];
    for (const connection of connections) connection.destroy();
    await Promise.all([...stopped, ...connections.map((c) => c.closed)]);
    await Promise.all(listeners.map(({ path }) => unlink(path).catch(() => {})));
  }

  private dispatch(service: string, method: string): RawHandler | HakoError {
    const handler = this.handlers.get(`${service}/${method}`);
    if (handler) return handler;
    if (!this.services.has(service)) return new HakoError(Code.Unimplemented, `ttrpc service ${service} is not served`);
    return new HakoError(Code.Unimplemented, `ttrpc method ${service}/${method} is not implemented`);
  }
}

function typedHandler(method: DescMethod, fn: (request: unknown, ctx: CallContext) => unknown): RawHandler {
  return async (payload, ctx) => {
    let request: unknown;
    try {
      request = fromBinary(method.input, payload);
    } catch (err) {
      throw HakoError.from(err, Code.InvalidArgument, `ttrpc call ${ctx.service}/${ctx.method}: undecodable request`);
    }
    const result = (await fn(request, ctx)) as MessageInitShape<DescMethod["output"]>;
    return toBinary(method.output, create(method.output, result));
  };
}

async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return;
    throw HakoError.from(err, Code.Internal, `cannot listen on ${path}`);
  }
  if (!isSocket)
    throw new HakoError(Code.AlreadyExists, `cannot listen on ${path}: a file that is not a socket is there`);
  if (await answers(path))
    throw new HakoError(Code.AlreadyExists, `cannot listen on ${path}: another process serves it`);
  await unlink(path).catch((err: unknown) => {
    if (errnoCode(err) !== "ENOENT") throw HakoError.from(err, Code.Internal, `cannot remove stale socket ${path}`);
  });
}

function listenErrorCode(err: unknown): Code {
  return errnoCode(err) === "EADDRINUSE" ? Code.AlreadyExists : Code.Internal;
}
