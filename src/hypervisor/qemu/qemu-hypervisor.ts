// QEMU as a Hypervisor: prepare() checks the assets, makes the VM's state directory and has the share manager start
// virtiofsd (inside the pod netns when there is one); start() plans the command line, spawns QEMU and connects QMP;
// attach() finds a running QEMU again from its persisted state; cleanupStale() removes what a dead owner left.
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { AGENT_VSOCK_PORT } from "../../agent/api/guest-contract.js";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import { processMatches, watchPid } from "../../common/watched-process.js";
import type { AgentConfig, FactoryConfig, HakoConfig, QemuConfig } from "../../config/types.js";
import { type Share, ShareManager } from "../../sharefs/share-manager.js";
import { chooseAccelerator } from "../accel.js";
import type {
  Accelerator,
  AgentAddress,
  Hypervisor,
  NicRequest,
  PersistedVm,
  PreparedVm,
  StaleCleanup,
  Vm,
  VmRequest,
} from "../hypervisor.js";
import { type AgentChannelPlan, buildQemuArgs } from "./cmdline/build.js";
import { connectQmp, netnsWrapper, spawnQemu } from "./qemu-launch.js";
import { checkAssets, chooseChannel, qemuPlan } from "./qemu-plan.js";
import { chooseStart, clonePlan, type StartMode, TemplateRestoreError } from "./qemu-template-start.js";
import { QemuVm, qemuVmState } from "./qemu-vm.js";
import { QmpClient } from "./qmp.js";
import { cleanupStaleVm, liveVmPid } from "./stale.js";
import { defaultStateRoot, vmName, vmPaths } from "./state-dir.js";

export interface QemuHypervisorOptions {
  /** Skip the probe and use this accelerator. */
  accelerator?: Accelerator;
  /** `[factory]`: start VMs from a template when enabled and one matches (qemu-template-start.ts). */
  factory?: FactoryConfig;
  /** How long QEMU may take to open its QMP socket. */
  startTimeoutMs?: number;
}

/** Where the runtime reaches the agent of a VM started with this channel. */
export function agentAddress(channel: AgentChannelPlan): AgentAddress {
  return channel.kind === "serial"
    ? { kind: "serial", path: channel.socketPath }
    : { kind: "vsock", cid: channel.cid, port: AGENT_VSOCK_PORT };
}

export class QemuHypervisor implements Hypervisor {
  readonly kind = "qemu" as const;
  private readonly shares: ShareManager;

  constructor(
    private readonly qemu: QemuConfig,
    private readonly agent: AgentConfig,
    private readonly options: QemuHypervisorOptions = {},
  ) {
    this.shares = new ShareManager({
      sharedFs: qemu.sharedFs,
      virtioFsDaemon: qemu.virtioFsDaemon,
      virtioFsCache: qemu.virtioFsCache,
      virtioFsExtraArgs: qemu.virtioFsExtraArgs,
      msize9p: qemu.msize9p,
      debug: qemu.enableDebug,
    });
  }

  async prepare(req: VmRequest, logger: Logger): Promise<PreparedVm> {
    const id = req.sandboxId;
    const log = logger.child({ subsystem: "qemu", sandbox: id });
    const paths = vmPaths(id, req.stateRoot);
    if (liveVmPid(id, req.stateRoot) !== undefined) {
      throw new HakoError(Code.AlreadyExists, `sandbox ${id} already has a running VM`);
    }
    if (existsSync(paths.dir)) await this.cleanupStale(id, { stateRoot: req.stateRoot, logger });
    const pmem = checkAssets(this.qemu);
    const accel = this.options.accelerator ?? chooseAccelerator(this.qemu.accel, log);
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    const wrapper = netnsWrapper(req.network?.netns);
    let share: Share;
    try {
      share = await this.shares.start(
        {
          sandboxId: id,
          ...(req.sharedDir !== undefined ? { hostDir: req.sharedDir } : {}),
          socketPath: paths.virtiofsdSocket,
          pidFile: paths.virtiofsdPid,
          logPath: paths.virtiofsdLog,
          wrapper,
        },
        log,
      );
    } catch (err) {
      rmSync(paths.dir, { recursive: true, force: true });
      throw err;
    }
    let used = false;
    const abort = async () => {
      await share.stop(0);
      rmSync(paths.dir, { recursive: true, force: true });
    };
    return {
      guestStorages: share.guestStorages,
      abort: async () => {
        if (!used) await abort();
      },
      start: async () => {
        if (used) throw new HakoError(Code.FailedPrecondition, `vm of sandbox ${id} was already started`);
        used = true;
        const channel = chooseChannel(this.qemu, paths);
        const sized = (vcpus: number, memoryMiB: number, template = false) =>
          qemuPlan({
            id,
            qemu: this.qemu,
            agent: this.agent,
            accel,
            vcpus,
            memoryMiB,
            // A template's clones are grown to their sandbox's size by hot-plug, whatever the sizing mode.
            mayGrow: template || req.mayGrow === true,
            template,
            pmem,
            channel,
            share: share.device,
            nics: req.network?.nics ?? [],
            paths,
          });
        const plan = sized(req.vcpus, req.memoryMiB);
        const launch = async (mode: StartMode): Promise<QemuVm> => {
          const clone = mode.kind === "clone" ? await clonePlan(mode.plan, mode) : undefined;
          const started = clone?.plan ?? plan;
          const argv = [...wrapper, this.qemu.path, ...buildQemuArgs(started)];
          log.info("starting qemu", {
            accel,
            vcpus: req.vcpus,
            memoryMiB: req.memoryMiB,
            channel: channel.kind,
            share: share.device.kind,
            start: mode.kind,
          });
          log.debug("qemu command line", { argv });
          const startedAt = Date.now();
          const nicFds = openNicDevices(req.network?.nics ?? []);
          let launched: ReturnType<typeof spawnQemu>;
          try {
            launched = spawnQemu(argv, nicFds);
          } catch (err) {
            clone?.discard();
            throw err;
          } finally {
            for (const fd of nicFds) closeSync(fd);
          }
          try {
            writeFileSync(paths.qemuPid, `${launched.proc.pid}\n`);
            const qmp = await connectQmp(id, paths.qmpSocket, launched, this.options.startTimeoutMs ?? 10000, log);
            const vm = new QemuVm({
              id,
              stateRoot: req.stateRoot,
              paths,
              proc: launched.proc,
              qmp,
              agentAddress: agentAddress(channel),
              accelerator: accel,
              share,
              stderr: launched.stderr,
              state: {
                qmpSocket: paths.qmpSocket,
                pcieRootPorts: plan.pcieRootPorts,
                usedPorts: [],
                dimms: 0,
                memoryMiB: started.memoryMiB,
                sharedMemory: share.device.kind === "virtio-fs",
                ...(mode.kind === "clone" ? { fromTemplate: mode.key } : {}),
              },
              log,
              ...(started.vcpus < plan.vcpus || started.memoryMiB < plan.memoryMiB
                ? { startedSmaller: { vcpus: started.vcpus, memoryMiB: started.memoryMiB } }
                : {}),
            });
            if (clone) await clone.finish(vm, share.device, log);
            for (const dev of req.devices ?? []) await vm.hotplugBlock(dev);
            log.info("qemu started", { pid: vm.pid, ms: Date.now() - startedAt, start: mode.kind });
            return vm;
          } catch (err) {
            if (!launched.proc.gone) {
              launched.proc.kill("SIGKILL");
              await launched.proc.exited;
            }
            clone?.discard();
            throw err;
          }
        };
        try {
          // Only a start that may clone needs the plan as a template of it would be, and its default-size twin.
          const templates = this.options.factory?.enableTemplate === true;
          const asTemplate = templates ? sized(req.vcpus, req.memoryMiB, true) : plan;
          const defaultSize = templates
            ? sized(Math.max(1, this.qemu.defaultVcpus), this.qemu.defaultMemoryMiB, true)
            : undefined;
          const devices = req.devices?.length ?? 0;
          const mode = chooseStart(this.options.factory, asTemplate, this.qemu.path, log, devices, defaultSize);
          if (mode.kind === "clone") {
            try {
              return await launch(mode);
            } catch (err) {
              if (!(err instanceof TemplateRestoreError)) throw err;
              log.warn("restoring the VM template failed: booting the VM instead", { error: err });
            }
          }
          return await launch({ kind: "cold" });
        } catch (err) {
          await abort();
          throw err;
        }
      },
    };
  }

  async attach(persisted: PersistedVm, logger: Logger): Promise<Vm> {
    const { id } = persisted;
    if (persisted.kind !== "qemu") {
      throw new HakoError(Code.InvalidArgument, `vm of sandbox ${id} is a ${persisted.kind} vm, not qemu`);
    }
    const log = logger.child({ subsystem: "qemu", sandbox: id });
    const state = qemuVmState(persisted.driver);
    if (!processMatches(persisted.pid, vmName(id))) {
      throw new HakoError(Code.FailedPrecondition, `vm of sandbox ${id} (pid ${persisted.pid}) is not running`);
    }
    // QMP first: if it does not answer, no pid watcher has been started that would need stopping.
    const qmp = await QmpClient.connect(state.qmpSocket, { logger: log, connectTimeoutMs: 2000 });
    let share: Share;
    try {
      share = this.shares.attach(persisted.share, log);
    } catch (err) {
      qmp.close();
      throw err;
    }
    const proc = watchPid(persisted.pid, vmName(id));
    log.info("attached to running qemu", { pid: persisted.pid });
    return new QemuVm({
      id,
      stateRoot: persisted.stateRoot,
      paths: vmPaths(id, persisted.stateRoot),
      proc,
      qmp,
      agentAddress: persisted.agentAddress,
      accelerator: persisted.accelerator,
      share,
      state,
      log,
    });
  }

  cleanupStale(
    id: string,
    options: { stateRoot?: string; knownPid?: number; logger?: Logger } = {},
  ): Promise<StaleCleanup> {
    return cleanupStaleVm(id, { stateRoot: options.stateRoot ?? defaultStateRoot, ...options });
  }
}

export interface StartQemuOptions extends QemuHypervisorOptions {
  /** Sandbox id. */
  id: string;
  config: HakoConfig;
  /** Default: the config's default_vcpus / default_memory. */
  vcpus?: number;
  memoryMiB?: number;
  /** Host directory shared with the guest; required unless shared_fs = "none". */
  sharedDir?: string;
  /** Run QEMU (and virtiofsd) in this network namespace: a name under /var/run/netns or a path. */
  netns?: string;
  nics?: NicRequest[];
  /** Default /run/hako. */
  stateRoot?: string;
}

/** prepare() then start() in one call, for callers with no step in between (tests, tools). */
export async function startQemu(o: StartQemuOptions, logger: Logger): Promise<Vm> {
  const h = o.config.hypervisor.qemu;
  const hv = new QemuHypervisor(h, o.config.agent, {
    factory: o.config.factory,
    ...(o.accelerator ? { accelerator: o.accelerator } : {}),
    ...(o.startTimeoutMs !== undefined ? { startTimeoutMs: o.startTimeoutMs } : {}),
  });
  const prepared = await hv.prepare(
    {
      sandboxId: o.id,
      stateRoot: o.stateRoot ?? defaultStateRoot,
      vcpus: o.vcpus ?? Math.max(1, h.defaultVcpus),
      memoryMiB: o.memoryMiB ?? h.defaultMemoryMiB,
      ...(o.sharedDir !== undefined ? { sharedDir: o.sharedDir } : {}),
      ...(o.netns !== undefined ? { network: { netns: o.netns, nics: o.nics ?? [] } } : {}),
    },
    logger,
  );
  return prepared.start();
}

/** Opens the character devices of macvtap NICs, in NIC order (QEMU gets them as fds 3, 4, …). */
function openNicDevices(nics: readonly NicRequest[]): number[] {
  const fds: number[] = [];
  try {
    for (const n of nics) if (n.device !== undefined) fds.push(openSync(n.device, "r+"));
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    throw HakoError.from(err, Code.FailedPrecondition, "opening a macvtap device for QEMU");
  }
  return fds;
}
