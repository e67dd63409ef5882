// `hako monitor --listen HOST:PORT`: one Prometheus endpoint for every sandbox on the host (like kata-monitor).
// Each scrape asks every sandbox's shim for its metrics over its unix socket; a sandbox whose shim serves none (or
// does not answer in time) still gets its host figures, read here from /proc with the pids of its state file.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import type { Logger } from "../common/log.js";
import { fetchMetrics } from "../metrics/fetch.js";
import { mergeExpositions } from "../metrics/prom-text.js";
import { SandboxMetrics } from "../metrics/sandbox-registry.js";
import { serveMetrics } from "../metrics/server.js";
import { cliLogger } from "./cli-log.js";
import { positiveInteger } from "./option-values.js";
import { listSandboxes, type SandboxEntry } from "./sandboxes.js";

export interface MonitorOptions {
  host: string;
  port: number;
  scrapeTimeoutMs?: number;
  logger?: Logger;
}

/**
 * `--listen`'s value: HOST:PORT, `[v6]:PORT`, or `:PORT` (every address). Commander calls it while parsing, so a bad
 * value is a usage error (exit status 2) like the command's other bad option values.
 */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError("expected HOST:PORT, e.g. 127.0.0.1:8090.");
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

let scrapeErrors = 0;

async function sandboxText(e: SandboxEntry, timeoutMs: number, log: Logger): Promise<string> {
  const s = e.state;
  if (s.metricsSocket) {
    try {
      return await fetchMetrics(s.metricsSocket, timeoutMs);
    } catch (err) {
      scrapeErrors++;
      log.warn("sandbox metrics unavailable, reporting host figures only", { sandbox: s.id, err });
    }
  }
  const local = new SandboxMetrics({
    sandboxId: s.id,
    processes: () => ({
      shim: s.ownerPid,
      ...(s.vm ? { vmm: s.vm.pid } : {}),
    }),
  });
  return local.metrics();
}

function ownText(all: SandboxEntry[]): string {
  const running = all.filter((e) => !e.stale).length;
  return [
    "# HELP hako_monitor_sandboxes sandboxes with a state file on this host",
    "# TYPE hako_monitor_sandboxes gauge",
    `hako_monitor_sandboxes{status="running"} ${running}`,
    `hako_monitor_sandboxes{status="stale"} ${all.length - running}`,
    "# HELP hako_monitor_scrape_errors_total sandbox metrics sockets that failed to answer",
    "# TYPE hako_monitor_scrape_errors_total counter",
    `hako_monitor_scrape_errors_total ${scrapeErrors}`,
    "",
  ].join("\n");
}

/** Everything one scrape returns: the monitor's own figures, then each running sandbox's. */
export async function collectAll(timeoutMs: number, log: Logger): Promise<string> {
  const all = await listSandboxes();
  const texts = await Promise.all(all.filter((e) => !e.stale).map((e) => sandboxText(e, timeoutMs, log)));
  return mergeExpositions([ownText(all), ...texts]);
}

export async function startMonitor(options: MonitorOptions): Promise<{ url: string; close(): Promise<void> }> {
  const log = (options.logger ?? cliLogger()).child({ subsystem: "monitor" });
  const server = createServer();
  await serveMetrics(
    server,
    () => server.listen(options.port, options.host),
    log,
    () => collectAll(options.scrapeTimeoutMs ?? 3_000, log),
  );
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}/metrics`;
  log.info("serving metrics of every sandbox", { url });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function monitorCommand() {
  return new Command("monitor")
    .description("serve Prometheus metrics of every sandbox on this host")
    .option("--listen <host:port>", "address to listen on (default: 127.0.0.1:8090)", parseListen)
    .option("--scrape-timeout <ms>", "how long to wait for one sandbox's metrics", positiveInteger, 3_000)
    .action(async (opts) => {
      const { host, port } = opts.listen ?? parseListen("127.0.0.1:8090");
      const monitor = await startMonitor({ host, port, scrapeTimeoutMs: opts.scrapeTimeout });
      await new Promise<void>((resolve) => {
        for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void monitor.close().then(resolve));
      });
    });
}
