// hako-agent's entry point: PID 1 in the guest. Sets the machine up, then serves the agent API on the host channel
// for as long as the VM lives. It never exits: a fatal error powers the VM off so that the host sees it die.
// Module bodies only define things: the image build snapshots the heap after them (snapshot-entry.ts).
import { readFileSync } from "node:fs";
import { createLogger, type Logger, stderrSink } from "../../common/log.js";
import { setChildSubreaper } from "../../sys/process.js";
import { TtrpcServer } from "../../ttrpc/server.js";
import { GuestAgent } from "./agent.js";
import { type AgentChannel, SerialChannel, VsockChannel, waitForSerialPort } from "./channel.js";
import { type AgentCmdline, parseCmdline } from "./cmdline.js";
import { startDebugConsole } from "./debug-console.js";
import { modprobe } from "./guest-sandbox.js";
import { enableCgroupControllers, fatal, mountKernelFilesystems, writableEtc } from "./pid1.js";
import { PortConnections } from "./port-connections.js";
import { Reaper } from "./reaper.js";
import { agentService, healthService, portForwardService } from "./rpc.js";
import { startAgent } from "./snapshot-entry.js";
import { AgentService, HakoPortForwardService, Health } from "./wire.js";

const STATE_DIR = "/run/hako";

function readCmdline(): AgentCmdline {
  try {
    return parseCmdline(readFileSync("/proc/cmdline", "utf8"));
  } catch {
    return parseCmdline("");
  }
}

async function openChannel(cmdline: AgentCmdline, log: Logger): Promise<AgentChannel> {
  if (cmdline.channel === "vsock") return new VsockChannel(log.child({ subsystem: "channel" }));
  return new SerialChannel(await waitForSerialPort(log), log.child({ subsystem: "channel" }));
}

/** `fromSnapshot`: node started from the image's startup snapshot, not from the bundle. */
async function main(fromSnapshot: boolean): Promise<void> {
  // When main began, since node started: node's own start (and the bundle's evaluation, without a snapshot).
  const mainMs = nodeMs();
  const isInit = process.pid === 1;
  // /proc is not mounted yet when we are init: the first log lines use the default level.
  let log = createLogger({ level: "info", sink: stderrSink, fields: { source: "agent" } });
  process.on("uncaughtException", (err) => fatal(log, "uncaught exception", err));
  process.on("unhandledRejection", (err) => fatal(log, "unhandled rejection", err));
  // Signals an init receives must not kill it (the kernel only delivers those with handlers to PID 1 anyway).
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE"] as const) process.on(sig, () => {});

  if (isInit) mountKernelFilesystems(log);
  else setChildSubreaper();
  const cmdline = readCmdline();
  log = createLogger({ level: cmdline.debug ? "debug" : "info", sink: stderrSink, fields: { source: "agent" } });
  // nodeMs: time since node started (its own boot plus loading this bundle), the agent's share of the boot.
  log.info("hako-agent starting", {
    pid: process.pid,
    uptime: uptime(),
    nodeMs: nodeMs(),
    mainMs,
    snapshot: fromSnapshot,
    channel: cmdline.channel,
  });
  if (isInit) {
    writableEtc(log);
    enableCgroupControllers(log);
    process.env.PATH ??= "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  }
  for (const m of cmdline.modules) {
    await modprobe(m).catch((err) => log.warn("module not loaded", { module: m, err }));
  }

  const reaper = new Reaper(log.child({ subsystem: "reaper" }));
  reaper.start();
  const agent = new GuestAgent({
    stateDir: STATE_DIR,
    crunBinary: process.env.HAKO_CRUN ?? "crun",
    resolvConf: "/etc/resolv.conf",
    reaper,
    log: log.child({ subsystem: "agent" }),
    loadModule: modprobe,
  });
  const server = new TtrpcServer({ logger: log });
  server.addService(Health, healthService());
  server.addService(AgentService, agentService(agent));
  server.addService(HakoPortForwardService, portForwardService(new PortConnections(log.child({ subsystem: "ports" }))));

  const channel = await openChannel(cmdline, log);
  // Only where the host asked for it (debug_console_enabled gives the VM the port); never fails the agent.
  startDebugConsole({ log: log.child({ subsystem: "debug-console" }), reaper });
  log.info("hako-agent serving", { uptime: uptime(), nodeMs: nodeMs() });
  for (;;) {
    const stream = await channel.accept();
    void server.serve(stream);
  }
}

/**
 * Milliseconds since node started. process.uptime() counts from the same start as performance.now(), but the
 * `performance` global loads perf_hooks on first use: ~25 ms of compiling under TCG that nothing else needs.
 */
function nodeMs(): number {
  return Math.round(process.uptime() * 1000);
}

function uptime(): number | undefined {
  try {
    return Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  } catch {
    return undefined;
  }
}

startAgent((fromSnapshot) => {
  main(fromSnapshot).catch((err: unknown) => {
    const log = createLogger({ level: "info", sink: stderrSink, fields: { source: "agent" } });
    fatal(log, "agent failed", err);
  });
});
