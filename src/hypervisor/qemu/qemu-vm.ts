// A running QEMU VM: starts it (virtiofsd first when the share is virtio-fs), supervises the process, drives it
// over QMP (pause/resume, hot-plug, quit) and cleans up after it. Implements the Vm role of ../hypervisor.ts.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { AGENT_VSOCK_PORT } from "../../agent/api/guest-contract.js";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import type { HakoConfig } from "../../config/types.js";
import { type NinePShare, ninePShare } from "../../sharefs/ninep.js";
import { TailBuffer } from "../../sharefs/tail.js";
import { Virtiofsd } from "../../sharefs/virtiofsd.js";
import { chooseAccelerator } from "../accel.js";
import type { Accelerator, AgentAddress, BlockDevice, Vm, VmExit } from "../hypervisor.js";
import { type AgentChannelPlan, buildQemuArgs, type QemuPlan, type SharePlan } from "./cmdline/build.js";
import { chooseFirmware } from "./cmdline/firmware.js";
import { hostTscKhz, kernelParams } from "./cmdline/kernel.js";
import type { TapNic } from "./cmdline/netdev.js";
import { rootPortId } from "./cmdline/pcie-root-port.js";
import * as hotplug from "./hotplug.js";
import { QmpClient } from "./qmp.js";
import { cleanupStaleVm, liveVmPid } from "./stale.js";
import { defaultStateRoot, type VmPaths, vmPaths } from "./state-dir.js";

export interface StartQemuOptions {
  /** Sandbox id. */
  id: string;
  config: HakoConfig;
  /** From sandboxSizing(); default: the config's default_vcpus / default_memory. */
  vcpus?: number;
  memoryMiB?: number;
  /** Host directory shared with the guest (tag kataShared); required unless shared_fs = "none". */
  sharedDir?: string;
  /** Run QEMU (and virtiofsd) in this network namespace: a name under /var/run/netns or a path. */
  netns?: string;
  nics?: TapNic[];
  /** Default /run/hako. */
  stateRoot?: string;
  /** Skip the probe and use this accelerator. */
  accelerator?: Accelerator;
  /** How long QEMU may take to open its QMP socket. */
  startTimeoutMs?: number;
}

const MiB = 1024 * 1024;
const memoryBlockMiB = 128; // Linux onlines hot-plugged memory in 128 MiB blocks on x86

function netnsWrapper(netns: string | undefined): string[] {
  if (!netns) return [];
  // Node is multithreaded, so setns from here is unreliable; both tools setns and then exec the real binary,
  // which keeps the pid (the pid files and /proc checks stay right).
  return netns.startsWith("/") ? ["nsenter", `--net=${netns}`, "--"] : ["ip", "netns", "exec", netns];
}

function requireFile(path: string, what: string) {
  if (!existsSync(path)) {
    throw new HakoError(
      Code.FailedPrecondition,
      `${what} ${path} does not exist (build the guest image with \`hako image build\`)`,
      {
        fields: { path },
      },
    );
  }
}

function chooseChannel(config: HakoConfig, paths: VmPaths): AgentChannelPlan {
  const choice = config.hypervisor.qemu.agentChannel;
  const vsock = existsSync("/dev/vhost-vsock");
  if (choice === "vsock" && !vsock) {
    throw new HakoError(
      Code.FailedPrecondition,
      "agent_channel = vsock but /dev/vhost-vsock does not exist (modprobe vhost_vsock)",
    );
  }
  if (choice === "vsock" || (choice === "auto" && vsock)) {
    // CIDs 0-2 are reserved; a clash makes QEMU fail at start, which the caller sees as an error.
    return { kind: "vsock", cid: 3 + Math.floor(Math.random() * 0x7ffffff0) };
  }
  return { kind: "serial", socketPath: paths.agentSocket };
}

export async function startQemu(options: StartQemuOptions, logger: Logger): Promise<Vm> {
  const { id, config } = options;
  const h = config.hypervisor.qemu;
  const log = logger.child({ subsystem: "qemu", sandbox: id });
  const stateRoot = options.stateRoot ?? defaultStateRoot;
  const paths = vmPaths(id, stateRoot);

  if (liveVmPid(id, stateRoot) !== undefined) {
    throw new HakoError(Code.AlreadyExists, `sandbox ${id} already has a running VM`);
  }
  if (existsSync(paths.dir)) await cleanupStaleVm(id, { stateRoot, logger });

  requireFile(h.path, "qemu binary");
  requireFile(h.kernel, "guest kernel");
  requireFile(h.initrd, "guest initrd");
  let pmem: QemuPlan["pmem"];
  if (h.rootfsMode === "pmem") {
    requireFile(h.image, "guest root image");
    pmem = { path: h.image, sizeBytes: statSync(h.image).size };
  }

  const accel = options.accelerator ?? chooseAccelerator(h.accel, log);
  const vcpus = options.vcpus ?? Math.max(1, h.defaultVcpus);
  const memoryMiB = options.memoryMiB ?? h.defaultMemoryMiB;
  const maxVcpus = Math.max(vcpus, h.defaultMaxVcpus > 0 ? h.defaultMaxVcpus : cpus().length);
  const pmemMiB = pmem ? Math.ceil(pmem.sizeBytes / MiB) : 0;
  // Room above RAM for the pmem image and for hot-plugged DIMMs (default: up to the host's RAM).
  const maxMemoryMiB =
    Math.max(memoryMiB, h.defaultMaxMemoryMiB > 0 ? h.defaultMaxMemoryMiB : Math.floor(totalmem() / MiB)) + pmemMiB;

  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const wrapper = netnsWrapper(options.netns);
  let virtiofsd: Virtiofsd | undefined;
  let child: ChildProcess | undefined;
  try {
    let share: SharePlan = { kind: "none" };
    if (h.sharedFs !== "none") {
      if (!options.sharedDir)
        throw new HakoError(Code.InvalidArgument, `sandbox ${id}: shared_fs = ${h.sharedFs} needs a shared directory`);
      if (h.sharedFs === "virtio-9p") {
        const s: NinePShare = ninePShare(options.sharedDir);
        share = s;
      } else {
        requireFile(h.virtioFsDaemon, "virtiofsd");
        virtiofsd = await Virtiofsd.start(
          {
            binary: h.virtioFsDaemon,
            socketPath: paths.virtiofsdSocket,
            sourceDir: options.sharedDir,
            cache: h.virtioFsCache,
            extraArgs: h.virtioFsExtraArgs,
            debug: h.enableDebug,
            wrapper,
          },
          log,
        );
        writeFileSync(paths.virtiofsdPid, `${virtiofsd.pid}\n`);
        share = { kind: "virtio-fs", socketPath: paths.virtiofsdSocket };
      }
    }
    const agent = chooseChannel(config, paths);
    const tscKhz =
      h.machineType === "microvm" && accel === "tcg" ? hostTscKhz(readFileSync("/proc/cpuinfo", "utf8")) : undefined;
    const firmware = chooseFirmware(h.machineType);
    const plan: QemuPlan = {
      id,
      machine: h.machineType,
      machineOptions: h.machineAccelerators,
      ...(firmware !== undefined ? { firmware } : {}),
      accel,
      tcgTbSizeMiB: h.tcgTbSizeMiB,
      cpuFeatures: h.cpuFeatures,
      vcpus,
      maxVcpus,
      memoryMiB,
      maxMemoryMiB,
      memorySlots: h.memorySlots,
      kernel: h.kernel,
      initrd: h.initrd,
      kernelParams: kernelParams({
        debug: h.enableDebug || config.agent.enableDebug,
        channel: agent.kind,
        extra: h.kernelParams,
        ...(tscKhz !== undefined ? { tscKhz } : {}),
        jitless: accel === "tcg",
      }),
      ...(pmem ? { pmem } : {}),
      agent,
      ...(config.agent.debugConsoleEnabled ? { debugConsole: { socketPath: paths.debugConsoleSocket } } : {}),
      share,
      consoleLogPath: paths.consoleLog,
      qmpSocketPath: paths.qmpSocket,
      // disable_vhost_net, or a host without /dev/vhost-net, keeps the NIC's data path in QEMU.
      nics: (options.nics ?? []).map((n) => ({
        ...n,
        vhost: n.vhost && !h.disableVhostNet && existsSync("/dev/vhost-net"),
      })),
      pcieRootPorts: h.pcieRootPorts,
      entropySource: h.entropySource,
    };
    const argv = [...wrapper, h.path, ...buildQemuArgs(plan)];
    log.info("starting qemu", { accel, vcpus, memoryMiB, channel: agent.kind, share: share.kind });
    log.debug("qemu command line", { argv });
    const startedAt = Date.now();
    // Detached: its own process group, no terminal, nothing of the caller's stdio (the shim's stdout is a protocol).
    child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], detached: true });
    const stderr = new TailBuffer(8192);
    child.stderr?.on("data", (c: Buffer) => stderr.push(c));
    const vm = new QemuVm(id, child, plan, paths, agent, accel, virtiofsd, stderr, log);
    writeFileSync(paths.qemuPid, `${vm.pid}\n`);
    await vm.connect(options.startTimeoutMs ?? 10000);
    log.info("qemu started", { pid: vm.pid, ms: Date.now() - startedAt });
    return vm;
  } catch (err) {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await new Promise((r) => child?.once("exit", r));
    }
    await virtiofsd?.stop(0);
    rmSync(paths.dir, { recursive: true, force: true });
    throw err;
  }
}

class QemuVm implements Vm {
  readonly pid: number;
  readonly agentAddress: AgentAddress;
  readonly consoleLogPath: string;
  readonly exited: Promise<VmExit>;
  /** Resolves with an error if virtiofsd dies while the VM runs. */
  readonly daemonFailure: Promise<HakoError>;
  private qmp: QmpClient | undefined;
  private requested = false;
  private gone = false;
  private stopping: Promise<void> | undefined;
  private readonly usedPorts = new Set<string>();
  private dimms = 0;
  private memoryMiB: number;

  constructor(
    readonly id: string,
    private readonly child: ChildProcess,
    private readonly plan: QemuPlan,
    private readonly paths: VmPaths,
    agent: AgentChannelPlan,
    readonly accelerator: Accelerator,
    private readonly virtiofsd: Virtiofsd | undefined,
    private readonly stderr: TailBuffer,
    private readonly log: Logger,
  ) {
    this.pid = child.pid ?? -1;
    this.consoleLogPath = paths.consoleLog;
    this.memoryMiB = plan.memoryMiB;
    this.agentAddress =
      agent.kind === "serial"
        ? { kind: "serial", path: agent.socketPath }
        : { kind: "vsock", cid: agent.cid, port: AGENT_VSOCK_PORT };
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.gone = true;
        const exit: VmExit = { code, signal, requested: this.requested };
        if (!this.requested) this.log.warn("qemu exited unexpectedly", { code, signal, stderr: stderr.text().trim() });
        else this.log.debug("qemu exited", { code, signal });
        // virtiofsd exits by itself once QEMU closes its socket: expected now.
        this.virtiofsd?.expectExit();
        this.qmp?.close();
        resolve(exit);
      });
    });
    this.daemonFailure = new Promise((resolve) => {
      void this.virtiofsd?.exited.then(() => {
        const failure = this.virtiofsd?.failure;
        if (failure && !this.gone) resolve(failure);
      });
    });
  }

  /** Waits for the QMP socket and connects; fails early (with QEMU's stderr) if QEMU exits first. */
  async connect(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.gone) {
        throw new HakoError(
          Code.FailedPrecondition,
          `qemu for sandbox ${this.id} exited at start-up: ${this.stderr.text().trim()}`,
        );
      }
      if (existsSync(this.paths.qmpSocket)) {
        try {
          this.qmp = await QmpClient.connect(this.paths.qmpSocket, { logger: this.log, connectTimeoutMs: 2000 });
          return;
        } catch (err) {
          if (Date.now() > deadline) throw err;
        }
      }
      if (Date.now() > deadline) {
        throw new HakoError(
          Code.DeadlineExceeded,
          `qemu for sandbox ${this.id} did not open ${this.paths.qmpSocket} in ${timeoutMs} ms`,
        );
      }
      await sleep(5);
    }
  }

  private control(): QmpClient {
    if (!this.qmp || this.qmp.isClosed || this.gone) {
      throw new HakoError(Code.FailedPrecondition, `vm of sandbox ${this.id} is not running`);
    }
    return this.qmp;
  }

  async status(): Promise<string> {
    const s = await this.control().execute<{ status: string }>("query-status");
    return s.status;
  }

  async pause(): Promise<void> {
    await this.control().execute("stop");
  }

  async resume(): Promise<void> {
    await this.control().execute("cont");
  }

  stop(graceMs = 2000): Promise<void> {
    this.stopping ??= this.doStop(graceMs);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    this.requested = true;
    this.virtiofsd?.expectExit();
    if (!this.gone) {
      const timer = setTimeout(() => {
        if (!this.gone) {
          this.log.warn("qemu did not quit in time, killing it", { graceMs });
          this.child.kill("SIGKILL");
        }
      }, graceMs);
      // quit's reply may race with the socket closing; either way we wait for the process itself.
      await this.qmp?.execute("quit", undefined, graceMs).catch(() => {});
      if (!this.qmp) this.child.kill("SIGKILL");
      await this.exited;
      clearTimeout(timer);
    }
    this.qmp?.close();
    await this.virtiofsd?.stop(graceMs);
    rmSync(this.paths.dir, { recursive: true, force: true });
    this.log.debug("vm stopped and cleaned up");
  }

  async hotplugBlock(dev: BlockDevice): Promise<void> {
    const qmp = this.control();
    const free = Array.from({ length: this.plan.pcieRootPorts }, (_, i) => rootPortId(i)).find(
      (p) => !this.usedPorts.has(p),
    );
    if (!free) {
      throw new HakoError(
        Code.ResourceExhausted,
        `sandbox ${this.id}: no free PCIe root port for ${dev.id} (raise pcie_root_port)`,
      );
    }
    this.usedPorts.add(free);
    try {
      await hotplug.hotplugBlock(qmp, dev, free);
    } catch (err) {
      this.usedPorts.delete(free);
      throw err;
    }
  }

  async hotplugVcpus(total: number): Promise<number> {
    return hotplug.hotplugVcpus(this.control(), total);
  }

  async hotplugMemory(addMiB: number): Promise<number> {
    const size = Math.ceil(addMiB / memoryBlockMiB) * memoryBlockMiB;
    await hotplug.hotplugMemory(this.control(), this.dimms++, size, this.plan.share.kind === "virtio-fs");
    this.memoryMiB += size;
    return this.memoryMiB;
  }
}
