// Boots a pod's sandbox for the shim: configuration (runtime option config_path, $HAKO_CONFIG, the system file or
// defaults), Kata annotations gated by enable_annotations, static sizing, then a Sandbox on the hypervisor the
// configuration selects (hypervisor.kind, through the registry in hypervisor/registry.ts).
import { systemCgroups } from "../cgroups/host-cgroups.js";
import type { Logger } from "../common/log.js";
import { applyAnnotations, loadConfig, sandboxSizing } from "../config/index.js";
import { serveSandboxMetrics } from "../metrics/serve-sandbox-metrics.js";
import { networkModel } from "../network/models.js";
import { sandboxBackend } from "../runtime/backend.js";
import { Sandbox } from "../runtime/sandbox.js";
import type { SandboxFactory } from "./pod.js";

export function configuredSandboxFactory(namespace: string, log: Logger): SandboxFactory {
  return async ({ sandboxId, spec, configPath, events }) => {
    const base = loadConfig({ ...(configPath ? { path: configPath } : {}), logger: log });
    const config = applyAnnotations(base, spec.annotations);
    const size = sandboxSizing(config, spec);
    log.info("creating sandbox", { config: config.source ?? "built-in defaults", ...size });
    // Once per sandbox, so a setting that seems to do nothing is explained in the shim's log.
    if (config.ignoredKeys.length > 0) log.info("config keys accepted but not acted on", { keys: config.ignoredKeys });
    const sandbox = await Sandbox.create({
      id: sandboxId,
      namespace,
      backend: sandboxBackend(config),
      logger: log,
      events,
      vcpus: size.vcpus,
      memoryMiB: size.memoryMiB,
      hotplug: !config.runtime.staticSandboxResourceMgmt,
      disableGuestSeccomp: config.runtime.disableGuestSeccomp,
      hostCgroups: {
        cgroups: systemCgroups(),
        cgroupsPath: spec.linux?.cgroupsPath,
        sandboxOnly: config.runtime.sandboxCgroupOnly,
      },
      network: { model: networkModel(config.runtime.internetworkingModel), spec },
      ...(spec.hostname ? { hostname: spec.hostname } : {}),
    });
    try {
      const metrics = await serveSandboxMetrics(sandbox, log);
      sandbox.onStop(() => metrics.close());
    } catch (err) {
      log.warn("cannot serve sandbox metrics; the sandbox runs without them", { err });
    }
    return sandbox;
  };
}
