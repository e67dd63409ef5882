// The wire edge of the agent: grpc.AgentService and grpc.Health messages in, GuestAgent calls out. Every handler
// translates once and lets HakoError codes travel back as ttrpc statuses.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, HakoError } from "../../common/errors.js";
import type { ServiceImpl } from "../../ttrpc/server.js";
import type { GuestPorts, GuestStorage } from "../api/agent-api.js";
import { PROCESS_PID_FORMAT, SIGNAL_ALL_METADATA } from "../api/conventions.js";
import {
  interfaceFromWire,
  interfaceToWire,
  neighborFromWire,
  routeFromWire,
  routeToWire,
} from "../api/network-wire.js";
import { processFromProto, resourcesFromProto, specFromProto } from "../api/spec-from-wire.js";
import type { GuestAgent } from "./agent.js";
import { AGENT_VERSION } from "./guest-info.js";
import type { AgentService, HakoPortForwardService, Health, Storage } from "./wire.js";
import { MAX_READ_BYTES } from "./wire.js";

export function storageFromProto(s: Storage): GuestStorage {
  return {
    driver: s.driver,
    source: s.source,
    fstype: s.fstype,
    options: [...s.options],
    mountPoint: s.mountPoint,
  };
}

export function healthService(): ServiceImpl<typeof Health> {
  return {
    check: () => ({ status: 1 /* SERVING */ }),
    version: () => ({ agentVersion: AGENT_VERSION, grpcVersion: "ttrpc" }),
  };
}

export function agentService(agent: GuestAgent): ServiceImpl<typeof AgentService> {
  return {
    async createSandbox(req) {
      await agent.createSandbox({
        sandboxId: req.sandboxId,
        hostname: req.hostname,
        dns: [...req.dns],
        storages: req.storages.map(storageFromProto),
        kernelModules: req.kernelModules.map((m) => [m.name, ...m.parameters].join(" ")),
      });
      return {};
    },
    async destroySandbox() {
      await agent.destroySandbox();
      return {};
    },
    async createContainer(req) {
      if (!req.oci) throw new HakoError(Code.InvalidArgument, `container ${req.containerId}: no OCI spec`);
      await agent.createContainer({
        containerId: req.containerId,
        spec: specFromProto(req.oci),
        storages: req.storages.map(storageFromProto),
      });
      return {};
    },
    async startContainer(req) {
      await agent.startContainer(req.containerId);
      return {};
    },
    async removeContainer(req) {
      await agent.removeContainer(req.containerId, req.timeout);
      return {};
    },
    async execProcess(req) {
      if (!req.process) throw new HakoError(Code.InvalidArgument, `exec ${req.execId}: no process`);
      await agent.execProcess(req.containerId, req.execId, processFromProto(req.process));
      return {};
    },
    async signalProcess(req, ctx) {
      const all = req.execId === "" && ctx.metadata.get(SIGNAL_ALL_METADATA)?.[0] === "1";
      await agent.signalProcess(req.containerId, req.execId, req.signal, all);
      return {};
    },
    async waitProcess(req, ctx) {
      return { status: await agent.waitProcess(req.containerId, req.execId, ctx.signal) };
    },
    async listProcesses(req) {
      if (req.format === PROCESS_PID_FORMAT) {
        const pid = agent.processPid(req.containerId, req.args[0] ?? "");
        return { processList: new TextEncoder().encode(JSON.stringify(pid)) };
      }
      const pids = agent.listProcesses(req.containerId);
      return { processList: new TextEncoder().encode(JSON.stringify(pids)) };
    },
    async updateContainer(req) {
      await agent.updateContainer(req.containerId, req.resources ? resourcesFromProto(req.resources) : {});
      return {};
    },
    async statsContainer(req) {
      const s = agent.statsContainer(req.containerId);
      const out: MessageInitShape<typeof import("./wire.js").StatsContainerResponseSchema> = {
        cgroupStats: {
          cpuStats: {
            cpuUsage: { totalUsage: s.cpuUsageNs, usageInUsermode: s.cpuUserNs, usageInKernelmode: s.cpuSystemNs },
          },
          memoryStats: { usage: { usage: s.memoryUsage, maxUsage: s.memoryMaxUsage, limit: s.memoryLimit } },
          pidsStats: { current: s.pidsCurrent, limit: s.pidsLimit },
        },
      };
      return out;
    },
    async pauseContainer(req) {
      await agent.pauseContainer(req.containerId);
      return {};
    },
    async resumeContainer(req) {
      await agent.resumeContainer(req.containerId);
      return {};
    },
    async writeStdin(req) {
      return { len: await agent.writeStdin(req.containerId, req.execId, req.data) };
    },
    async readStdout(req, ctx) {
      const data = await agent.readStdout(req.containerId, req.execId, readLength(req.len), ctx.signal);
      return { data: data ?? new Uint8Array(0) };
    },
    async readStderr(req, ctx) {
      const data = await agent.readStderr(req.containerId, req.execId, readLength(req.len), ctx.signal);
      return { data: data ?? new Uint8Array(0) };
    },
    async closeStdin(req) {
      agent.closeStdin(req.containerId, req.execId);
      return {};
    },
    async ttyWinResize(req) {
      agent.resizeTty(req.containerId, req.execId, req.row, req.column);
      return {};
    },
    async getOOMEvent(_req, ctx) {
      return { containerId: await agent.getOomEvent(ctx.signal) };
    },
    async getGuestDetails() {
      const d = agent.getGuestDetails();
      return {
        memBlockSizeBytes: d.memBlockSizeBytes,
        agentDetails: {
          version: d.agentVersion,
          initDaemon: process.pid === 1,
          storageHandlers: ["virtio-fs", "9p", "blk", "local", "ephemeral", "bind"],
          supportsSeccomp: true,
        },
      };
    },
    async onlineCPUMem(req) {
      await agent.onlineCpuMem(req.nbCpus, req.cpuOnly);
      return {};
    },
    async setGuestDateTime(req) {
      agent.setGuestDateTime(new Date(Number(req.sec) * 1000 + Math.floor(Number(req.usec) / 1000)));
      return {};
    },
    async reseedRandomDev(req) {
      agent.reseedRandomDev(req.data);
      return {};
    },
    async copyFile(req) {
      agent.copyFile(req.path, req.data, req.fileMode, Number(req.offset));
      return {};
    },
    async getMetrics() {
      return { metrics: agent.getMetrics() };
    },
    async updateInterface(req) {
      if (!req.interface) throw new HakoError(Code.InvalidArgument, "UpdateInterface: no interface");
      return interfaceToWire(await agent.network.updateInterface(interfaceFromWire(req.interface)));
    },
    async updateRoutes(req) {
      const routes = await agent.network.updateRoutes((req.routes?.routes ?? []).map(routeFromWire));
      return { routes: routes.map(routeToWire) };
    },
    async addARPNeighbors(req) {
      await agent.network.addArpNeighbors((req.neighbors?.arpNeighbors ?? []).map(neighborFromWire));
      return {};
    },
    async listInterfaces() {
      return { interfaces: (await agent.network.listInterfaces()).map(interfaceToWire) };
    },
    async listRoutes() {
      return { routes: (await agent.network.listRoutes()).map(routeToWire) };
    },
  };
}

/** hako's port-forward extension: connection ids and bytes in and out, nothing to translate beyond that. */
export function portForwardService(ports: GuestPorts): ServiceImpl<typeof HakoPortForwardService> {
  return {
    async openPort(req) {
      return { connectionId: await ports.openPort(req.port) };
    },
    async readPort(req, ctx) {
      const data = await ports.readPort(req.connectionId, readLength(req.len), { signal: ctx.signal });
      return { data: data ?? new Uint8Array(0) };
    },
    async writePort(req) {
      return { len: await ports.writePort(req.connectionId, req.data) };
    },
    async closeWritePort(req) {
      await ports.closeWritePort(req.connectionId);
      return {};
    },
    async closePort(req) {
      await ports.closePort(req.connectionId);
      return {};
    },
  };
}

/** A read asks for at most this much: one answer must fit a ttrpc frame with room to spare. */
function readLength(len: number): number {
  return len === 0 ? MAX_READ_BYTES : Math.min(len, MAX_READ_BYTES);
}
