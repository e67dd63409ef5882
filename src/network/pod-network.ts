// The network phase of a sandbox's life, as the runtime calls it: wire the pod netns before the VM starts (and
// record what was made in a file at once, so that a crash at any later point can be undone), apply the guest
// configuration once the agent answers, and unwire from that record at stop or in `shim delete`. The record lives
// outside the VM's state directory, which the hypervisor clears when it prepares a VM.
import { mkdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { AgentApi } from "../agent/api/agent-api.js";
import type { GuestDns, GuestNetworkConfig } from "../agent/api/guest-network.js";
import { Code, HakoError } from "../common/errors.js";
import { readJsonFile, writeJsonFile } from "../common/json-file.js";
import type { Logger } from "../common/log.js";
import type { OciSpec } from "../oci/spec.js";
import { networkModel } from "./models.js";
import {
  type NetworkEndpoints,
  type NetworkModel,
  type NetworkSetup,
  noNetwork,
  persistedEndpoints,
} from "./network-model.js";
import { podNetns } from "./pod-netns.js";

/**
 * Wires the netns the sandbox spec names (none for a new empty netns) and records the endpoints in
 * `recordPath` before returning.
 * @throws HakoError InvalidArgument for a host-network spec (see podNetns); the model's errors otherwise
 */
export async function wirePodNetwork(
  req: { sandboxId: string; spec: OciSpec; model: NetworkModel; recordPath: string },
  logger: Logger,
): Promise<NetworkSetup> {
  const where = podNetns(req.spec, req.model.model, req.sandboxId);
  if (where.kind === "empty") {
    logger.info("pod has no network namespace to wire: the VM gets no NIC", { model: req.model.model });
    return noNetwork(req.model.model);
  }
  const setup = await req.model.add(where.path, logger);
  try {
    await writeEndpoints(req.recordPath, persistedEndpoints(setup));
  } catch (err) {
    await req.model
      .del(setup, logger)
      .catch((e: unknown) => logger.error("cannot unwire after a failed write", { err: e }));
    throw HakoError.from(err, Code.Internal, `sandbox ${req.sandboxId}: recording the network endpoints`);
  }
  return setup;
}

async function writeEndpoints(recordPath: string, endpoints: NetworkEndpoints): Promise<void> {
  mkdirSync(dirname(recordPath), { recursive: true, mode: 0o700 });
  await writeJsonFile(recordPath, endpoints);
}

/** The endpoints recorded for a sandbox, or undefined when none were (no network, or already unwired). */
export async function readEndpoints(recordPath: string): Promise<NetworkEndpoints | undefined> {
  return (await readJsonFile(recordPath, "network endpoints")) as NetworkEndpoints | undefined;
}

/**
 * Removes what wirePodNetwork made, from the recorded endpoints (the model named there, whatever the configuration
 * says now), then the record. Idempotent; used at stop and by the clean-up of a dead shim's sandbox.
 */
export async function unwirePodNetwork(
  recordPath: string,
  logger: Logger,
  modelFor: (model: NetworkEndpoints["model"]) => NetworkModel = networkModel,
): Promise<void> {
  const endpoints = await readEndpoints(recordPath);
  if (!endpoints) return;
  await modelFor(endpoints.model).del(endpoints, logger);
  await rm(recordPath, { force: true });
  logger.info("pod network unwired", { netns: endpoints.netns, endpoints: endpoints.endpoints.length });
}

/** resolv.conf lines for CreateSandbox's dns field (the agent writes them to the guest's /etc/resolv.conf). */
export function dnsLines(dns: GuestDns | undefined): string[] {
  if (!dns) return [];
  return [
    ...dns.servers.map((s) => `nameserver ${s}`),
    ...(dns.searches.length > 0 ? [`search ${dns.searches.join(" ")}`] : []),
    ...(dns.options.length > 0 ? [`options ${dns.options.join(" ")}`] : []),
  ];
}

/** Applies the guest side: every interface (found by MAC), then routes, then static neighbours. */
export async function applyGuestNetwork(agent: AgentApi, guest: GuestNetworkConfig, logger: Logger): Promise<void> {
  for (const iface of guest.interfaces) await agent.updateInterface(iface);
  if (guest.routes.length > 0) await agent.updateRoutes(guest.routes);
  if (guest.neighbors.length > 0) await agent.addArpNeighbors(guest.neighbors);
  if (guest.interfaces.length > 0) {
    logger.info("guest network configured", {
      interfaces: guest.interfaces.map((i) => i.name),
      routes: guest.routes.length,
      neighbors: guest.neighbors.length,
    });
  }
}
