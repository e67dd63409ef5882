// Serves one sandbox's metrics as Prometheus text over HTTP on a unix socket. The shim starts it for its sandbox
// and records the socket in the sandbox state, where `hako monitor` finds it.
import { chmod, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { Code, HakoError } from "../common/errors.js";
import { type Logger, silentLogger } from "../common/log.js";
import { SandboxMetrics, type SandboxMetricsOptions } from "./sandbox-registry.js";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Where a sandbox's metrics socket lives: in its state directory, next to the VM's sockets. */
export function metricsSocketPath(stateDir: string): string {
  return join(stateDir, "metrics.sock");
}

export interface SandboxMetricsServer {
  readonly socketPath: string;
  readonly metrics: SandboxMetrics;
  close(): Promise<void>;
}

/** Serves `text()` on GET /metrics of an HTTP server listening on socketPath. */
export async function serveMetrics(server: Server, listen: () => void, log: Logger, text: () => Promise<string>) {
  server.on("request", (req, res) => {
    if (req.method !== "GET" || (req.url !== "/metrics" && req.url !== "/")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics\n");
      return;
    }
    text().then(
      (body) => res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE }).end(body),
      (err: unknown) => {
        log.warn("metrics collection failed", { err });
        res.writeHead(500, { "content-type": "text/plain" }).end(`${(err as Error).message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.once("listening", () => {
      server.off("error", reject);
      resolve();
    });
    listen();
  });
}

export async function startSandboxMetricsServer(
  options: SandboxMetricsOptions & { socketPath: string; logger?: Logger },
): Promise<SandboxMetricsServer> {
  const log = (options.logger ?? silentLogger).child({ subsystem: "metrics", sandbox: options.sandboxId });
  const metrics = new SandboxMetrics(options);
  const server = createServer();
  // A socket left by a dead shim with the same sandbox id would make listen() fail with EADDRINUSE.
  await rm(options.socketPath, { force: true });
  try {
    await serveMetrics(
      server,
      () => server.listen(options.socketPath),
      log,
      () => metrics.metrics(),
    );
  } catch (err) {
    throw new HakoError(Code.Internal, `cannot serve metrics on ${options.socketPath}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  await chmod(options.socketPath, 0o600);
  log.debug("serving metrics", { socket: options.socketPath });
  return {
    socketPath: options.socketPath,
    metrics,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await rm(options.socketPath, { force: true });
    },
  };
}
