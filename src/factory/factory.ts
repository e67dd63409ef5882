// `hako factory init|status|destroy`: VM templates under `[factory] template_path`, one directory per template key
// (hypervisor/qemu/template.ts says what a template holds and what its key covers). init boots a template VM with
// the configuration's default sizing, waits for its agent, and saves it; status lists what is there and whether it
// matches the current configuration; destroy removes the templates and what init left around them. Only what hako
// made is touched (interrupted.ts names it): template_path may hold other files, which are left alone.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { waitForAgent } from "../agent/client/wait-for-agent.js";
import { Code, errnoCode, HakoError } from "../common/errors.js";
import { type Logger, silentLogger } from "../common/log.js";
import type { HakoConfig } from "../config/types.js";
import { chooseAccelerator } from "../hypervisor/accel.js";
import { currentTemplateInputs, startTemplateVm, templatesUnusable } from "../hypervisor/qemu/qemu-template-vm.js";
import {
  type BrokenMark,
  changedInputs,
  listTemplates,
  readTemplateInfo,
  TEMPLATE_FORMAT,
  TEMPLATE_INFO,
  TEMPLATE_MEMORY,
  TEMPLATE_STATE,
  type TemplateInfo,
  templateBroken,
  templateDir,
  templateKey,
} from "../hypervisor/qemu/template.js";
import {
  cleanInterruptedBuilds,
  interruptedBuilds,
  RUN_DIR,
  removeIfEmpty,
  stopTemplateVm,
  templateVmId,
  templateVmPid,
  workDirName,
} from "./interrupted.js";
import { MADE_PARENTS, makeTemplatePath, removeTemplatePath } from "./made-parents.js";

/**
 * Runs `fn` (sync or async) on the template directory; a system error (ENOTDIR, EACCES, …) becomes a
 * FailedPrecondition naming template_path and what was being done.
 */
function onTemplatePath<T>(root: string, what: string, fn: () => T): T {
  const named = (err: unknown) => {
    const code = errnoCode(err);
    if (code === undefined) return err;
    const message = err instanceof Error ? err.message : String(err);
    const why = code === "ENOTDIR" ? `a part of it is a file, not a directory (${message})` : message;
    return new HakoError(Code.FailedPrecondition, `[factory] template_path ${root}: cannot ${what}: ${why}`, {
      cause: err,
    });
  };
  try {
    const r = fn();
    return (
      r instanceof Promise
        ? r.catch((err: unknown) => {
            throw named(err);
          })
        : r
    ) as T;
  } catch (err) {
    throw named(err);
  }
}

export interface InitResult {
  dir: string;
  info: TemplateInfo;
  /** False when a template for the current configuration existed and was kept. */
  created: boolean;
  /** Boot to agent-ready plus save, ms (0 when kept). */
  ms: number;
}

export interface InitOptions {
  /** Remake the template even if an up-to-date one exists. */
  force?: boolean;
  /**
   * Aborting (the CLI does on SIGINT/SIGTERM) kills the template VM at once; init then removes its work directory
   * and fails with Cancelled.
   */
  signal?: AbortSignal;
}

/**
 * Makes the template for the current configuration (kept if it exists and is not marked broken, unless `force`).
 * Templates of other keys are left alone (status shows them as stale; destroy removes them). Files of earlier inits
 * that were killed are removed first (with their QEMU). Fails with the VM's error if the guest does not come up, or
 * Cancelled when `signal` aborts; nothing of the attempt is left behind then.
 */
export async function initTemplate(config: HakoConfig, logger: Logger, opts: InitOptions = {}): Promise<InitResult> {
  const root = config.factory.templatePath;
  // Quiet: the accelerator's warning (no KVM) is said below, only when this init boots a VM.
  const key = templateKey(currentTemplateInputs(config, silentLogger));
  const dir = templateDir(root, key);
  const cleaned = await onTemplatePath(root, "look for what an interrupted init left", () =>
    cleanInterruptedBuilds(root, logger),
  );
  if (cleaned.removed.length > 0) logger.info("removed what interrupted inits left", { ...cleaned });
  const existing = readTemplateInfo(dir);
  const complete = existsSync(join(dir, TEMPLATE_MEMORY)) && existsSync(join(dir, TEMPLATE_STATE));
  if (existing && complete && !opts.force && !templateBroken(dir)) {
    return { dir, info: existing, created: false, ms: 0 };
  }
  opts.signal?.throwIfAborted();
  chooseAccelerator(config.hypervisor.qemu.accel, logger);
  const started = Date.now();
  const id = templateVmId(key, process.pid);
  const tmp = join(root, workDirName(key, process.pid));
  const runRoot = join(root, RUN_DIR);
  // A failed or interrupted init leaves template_path as it found it: made here, it goes again when still empty.
  const rootExisted = existsSync(root);
  let made = false;
  onTemplatePath(root, `create ${tmp}`, () => {
    makeTemplatePath(root);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    mkdirSync(runRoot, { recursive: true, mode: 0o700 });
  });
  // On abort the VM is killed by its pid file (written as soon as QEMU is spawned), whichever step init is in: the
  // step then fails, and the cleanup below runs. Once the VM is up, it is also told to stop, so that it takes the
  // kill for its own stop and not for QEMU dying on its own (no "qemu exited unexpectedly" warning).
  let vm: Awaited<ReturnType<typeof startTemplateVm>> | undefined;
  let killing: Promise<unknown> = Promise.resolve();
  const onAbort = () => {
    killing = Promise.all([vm?.stop(), stopTemplateVm(root, id, logger, "stopping this init's template VM")]);
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    vm = await startTemplateVm(config, id, runRoot, tmp, logger);
    try {
      if (vm.key !== key) {
        throw new HakoError(Code.Internal, `template VM came up with key ${vm.key}, expected ${key}`);
      }
      const agent = await waitForAgent(vm.agentAddress, {
        timeoutMs: Math.max(1, config.agent.dialTimeoutS) * 1000,
        logger: logger.child({ subsystem: "agent-client" }),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      agent.close();
      // Let the guest see the host hang up, so that clones wake with the agent waiting for a new connection.
      await sleep(200);
      opts.signal?.throwIfAborted();
      await vm.save();
      opts.signal?.throwIfAborted();
      const info: TemplateInfo = {
        format: TEMPLATE_FORMAT,
        key,
        createdAt: new Date().toISOString(),
        inputs: vm.inputs,
      };
      writeFileSync(join(tmp, TEMPLATE_INFO), `${JSON.stringify(info, null, 2)}\n`);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      made = true;
      return { dir, info, created: true, ms: Date.now() - started };
    } finally {
      await vm.stop();
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (opts.signal?.aborted) {
      throw new HakoError(Code.Cancelled, `hako factory init interrupted: template VM stopped, ${tmp} removed`, {
        cause: err,
      });
    }
    throw err;
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    await killing;
    await stopTemplateVm(root, id, logger);
    if (!made && !rootExisted) removeTemplatePath(root);
  }
}

export interface TemplateStatus {
  dir: string;
  key: string;
  /** ISO time, or undefined for a directory without a readable template.json. */
  createdAt?: string;
  /** Seconds since createdAt, never negative: see `createdInFutureS`. */
  ageS?: number;
  /** Set when createdAt lies ahead of this host's clock (a clock that was set back), by so many seconds. */
  createdInFutureS?: number;
  /** Bytes the template takes on its filesystem (the RAM file is sparse: only pages the guest touched). */
  bytes: number;
  /** Matches the current configuration and is not broken: sandboxes will start from it. */
  current: boolean;
  /** For a template that does not match: the inputs that changed. */
  changed?: string[];
  /** A sandbox's restore of this template failed: it is not used until `hako factory init` remakes it. */
  broken?: BrokenMark;
}

export interface BuildStatus {
  /** `<key>.tmp-<pid>`, or `.run/template-<key>-<pid>` when only that is left. */
  name: string;
  /** The init process, when the names carry it. */
  pid?: number;
  /** The init still runs. */
  running: boolean;
  /** A killed init's template VM that still runs (its QEMU's pid): destroy, or the next init, kills it. */
  qemuPid?: number;
}

export interface FactoryStatus {
  root: string;
  currentKey: string;
  /** Why sandboxes of this configuration never use a template (templatesUnusable), if so. */
  unusable?: string;
  templates: TemplateStatus[];
  /** init work directories: of a running init, or left by one that was killed (the next init or destroy removes). */
  builds: BuildStatus[];
}

function allocatedBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).blocks * 512;
  return total;
}

export function factoryStatus(config: HakoConfig, logger: Logger): FactoryStatus {
  const root = config.factory.templatePath;
  const inputs = currentTemplateInputs(config, logger);
  const currentKey = templateKey(inputs);
  return onTemplatePath(root, "list it", () => {
    const templates = listTemplates(root).map(({ dir, info }): TemplateStatus => {
      const key = info?.key ?? dir.slice(root.length + 1);
      const broken = templateBroken(dir);
      const s: TemplateStatus = { dir, key, bytes: allocatedBytes(dir), current: key === currentKey && !broken };
      if (broken) s.broken = broken;
      if (info) {
        s.createdAt = info.createdAt;
        const ageS = Math.round((Date.now() - Date.parse(info.createdAt)) / 1000);
        s.ageS = Math.max(0, ageS);
        if (ageS < 0) s.createdInFutureS = -ageS;
        if (key !== currentKey) s.changed = changedInputs(info.inputs, inputs);
      }
      return s;
    });
    const builds = interruptedBuilds(root).map((b): BuildStatus => {
      const qemuPid = !b.running && b.vmId ? templateVmPid(root, b.vmId) : undefined;
      return {
        name: b.workDir ?? join(RUN_DIR, b.vmId ?? ""),
        ...(b.pid !== undefined ? { pid: b.pid } : {}),
        running: b.running,
        ...(qemuPid !== undefined ? { qemuPid } : {}),
      };
    });
    const unusable = templatesUnusable(config);
    return { root, currentKey, ...(unusable ? { unusable } : {}), templates, builds };
  });
}

export interface DestroyResult {
  /** Keys of the templates removed. */
  templates: string[];
  /** Files of killed inits removed (`<key>.tmp-<pid>`, `.run/template-<key>-<pid>`), and QEMU pids killed. */
  interrupted: string[];
  killed: number[];
  /** Work directories of inits still running, left alone. */
  running: string[];
  /** template_path was left empty and removed. */
  rootRemoved: boolean;
  /** Directories above template_path that init created, removed after it, each because it was empty. */
  parentsRemoved: string[];
  /** Entries under template_path that are not hako's, left alone. */
  others: string[];
}

/**
 * Removes the templates under template_path and what killed inits left there (stopping their QEMU), then
 * template_path itself if nothing else is in it, and the directories above it that init created (made-parents.ts),
 * each while empty. Entries that are not hako's are left alone and listed.
 */
export async function destroyTemplates(config: HakoConfig, logger: Logger): Promise<DestroyResult> {
  const root = config.factory.templatePath;
  const out: DestroyResult = {
    templates: [],
    interrupted: [],
    killed: [],
    running: [],
    rootRemoved: false,
    parentsRemoved: [],
    others: [],
  };
  if (!existsSync(root)) return out;
  const cleaned = await onTemplatePath(root, "look for what an interrupted init left", () =>
    cleanInterruptedBuilds(root, logger),
  );
  Object.assign(out, { interrupted: cleaned.removed, killed: cleaned.killed, running: cleaned.running });
  onTemplatePath(root, "remove its templates", () => {
    for (const { dir } of listTemplates(root)) {
      rmSync(dir, { recursive: true, force: true });
      out.templates.push(dir.slice(root.length + 1));
    }
    removeIfEmpty(join(root, RUN_DIR));
    Object.assign(out, removeTemplatePath(root));
    if (!out.rootRemoved) {
      out.others = readdirSync(root).filter((n) => n !== RUN_DIR && n !== MADE_PARENTS && !out.running.includes(n));
    }
  });
  return out;
}
