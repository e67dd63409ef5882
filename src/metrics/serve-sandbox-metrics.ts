// One call for the shim: serve a running sandbox's metrics on its state directory's socket and record the socket in
// the sandbox state, where `hako monitor` looks for it. Close the returned server when the sandbox stops.
import type { Logger } from "../common/log.js";
import type { Sandbox } from "../runtime/sandbox.js";
import { childrenOf, commandOf } from "./proc-stats.js";
import { metricsSocketPath, type SandboxMetricsServer, startSandboxMetricsServer } from "./server.js";

export async function serveSandboxMetrics(sandbox: Sandbox, logger: Logger): Promise<SandboxMetricsServer> {
  const server = await startSandboxMetricsServer({
    sandboxId: sandbox.id,
    socketPath: metricsSocketPath(sandbox.paths.stateDir),
    logger,
    processes: () => {
      // One shim serves one sandbox, so a virtiofsd among the shim's children is this sandbox's share daemon.
      const share = childrenOf(process.pid).find((pid) => commandOf(pid) === "virtiofsd");
      return { shim: process.pid, vmm: sandbox.taskPid, ...(share === undefined ? {} : { share }) };
    },
    guestMetrics: () => sandbox.guestMetrics(),
    info: { accelerator: sandbox.accelerator },
  });
  sandbox.metricsSocket = server.socketPath;
  await sandbox.persist();
  return server;
}
