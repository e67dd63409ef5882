// VM templates (Kata's factory, `[factory] enable_template`): a guest booted once to the point where its agent
// waits for the host, with no per-sandbox device, saved as its RAM (a file QEMU mapped shared) plus QEMU's device
// state (a migration stream with x-ignore-shared, so it holds no RAM). A sandbox then starts from a private copy of
// that RAM file, mapped shared again, so that vhost-user daemons (virtiofsd) can map it: Kata's factory maps the
// template copy-on-write (share=off) and therefore cannot combine templates with virtio-fs; hako can, at the price of
// the copy. Per-sandbox devices (the virtio-fs share, NICs) are hot-plugged after the restore (clone-devices.ts).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Code, HakoError } from "../../common/errors.js";
import type { Logger } from "../../common/log.js";
import { canonicalJson, manifestListing } from "../../image/manifest.js";
import type { QemuPlan } from "./cmdline/build.js";
import type { QmpClient } from "./qmp.js";

const execFileAsync = promisify(execFile);

/** Bumped when what a template holds, or how it is restored, changes: older templates are then not used. */
export const TEMPLATE_FORMAT = 3; // 2: the TCG guest CPU lost ERMS (cmdline/cpu.ts TCG_FEATURES); 3: q35 without SATA and SMBus
export const TEMPLATE_MEMORY = "memory";
export const TEMPLATE_STATE = "state";
export const TEMPLATE_INFO = "template.json";
/** Written by the runtime into a template whose restore failed: the template is not used again until remade. */
export const TEMPLATE_BROKEN = "broken.json";
/** A template directory's name: its key (templateKey). */
export const TEMPLATE_KEY_PATTERN = /^[0-9a-f]{16}$/;

export interface FileFingerprint {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  /** From the image builder's manifest.json beside the file, when it lists the file with this size. */
  sha256?: string;
}

/** Everything that shapes the VM a template holds; two plans with equal inputs can share a template. */
export interface TemplateInputs
  extends Pick<
    QemuPlan,
    | "machine"
    | "machineOptions"
    | "accel"
    | "tcgTbSizeMiB"
    | "cpuFeatures"
    | "vcpus"
    | "maxVcpus"
    | "memoryMiB"
    | "maxMemoryMiB"
    | "memorySlots"
    | "pcieRootPorts"
  > {
  format: number;
  qemu: FileFingerprint;
  firmware: string | null;
  kernel: FileFingerprint;
  initrd: FileFingerprint | null;
  kernelParams: string[];
  rootImage: FileFingerprint | null;
  agentChannel: string;
  debugConsole: boolean;
  entropySource: string | null;
}

export interface TemplateInfo {
  format: number;
  key: string;
  /** ISO time the template was saved. */
  createdAt: string;
  inputs: TemplateInputs;
}

/**
 * A file as the template key sees it: size, mtime and inode (a rebuilt asset is renamed into place, so it changes
 * all three) plus the manifest's sha256 when it lists the file. Hashing the assets on every start would cost more
 * than the restore itself (a 128 MiB root image).
 */
export function fingerprint(path: string): FileFingerprint {
  const st = statSync(path);
  const fp: FileFingerprint = { path, size: st.size, mtimeMs: Math.round(st.mtimeMs), ino: st.ino };
  // Without a manifest listing it: size, mtime and inode alone.
  const listed = manifestListing(path);
  if (listed) fp.sha256 = listed.record.sha256;
  return fp;
}

/** The inputs of `plan` (the per-VM paths, share and NICs are not part of them: they are added per clone). */
export function templateInputs(plan: QemuPlan, qemuBinary: string): TemplateInputs {
  return {
    format: TEMPLATE_FORMAT,
    qemu: fingerprint(qemuBinary),
    machine: plan.machine,
    machineOptions: plan.machineOptions,
    firmware: plan.firmware ?? null,
    accel: plan.accel,
    tcgTbSizeMiB: plan.tcgTbSizeMiB,
    cpuFeatures: plan.cpuFeatures,
    vcpus: plan.vcpus,
    maxVcpus: plan.maxVcpus,
    memoryMiB: plan.memoryMiB,
    maxMemoryMiB: plan.maxMemoryMiB,
    memorySlots: plan.memorySlots,
    kernel: fingerprint(plan.kernel),
    initrd: plan.initrd !== undefined ? fingerprint(plan.initrd) : null,
    kernelParams: [...plan.kernelParams],
    rootImage: plan.pmem ? fingerprint(plan.pmem.path) : null,
    agentChannel: plan.agent.kind,
    debugConsole: plan.debugConsole !== undefined,
    pcieRootPorts: plan.pcieRootPorts,
    entropySource: plan.entropySource ?? null,
  };
}

export function templateKey(inputs: TemplateInputs): string {
  return createHash("sha256").update(canonicalJson(inputs)).digest("hex").slice(0, 16);
}

/** The top-level inputs that differ between two templates, for a message that says what changed. */
export function changedInputs(a: TemplateInputs, b: TemplateInputs): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof TemplateInputs>;
  return [...keys].filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k])).sort();
}

export const templateDir = (root: string, key: string) => join(root, key);

export function readTemplateInfo(dir: string): TemplateInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(dir, TEMPLATE_INFO), "utf8")) as TemplateInfo;
    return typeof info.key === "string" && info.format === TEMPLATE_FORMAT ? info : undefined;
  } catch {
    return undefined;
  }
}

/** A root that is missing or not a directory (or under a file) holds no template; init names it when it fails. */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Every template under `root`, oldest first: the directories hako made, recognised by a key-shaped name and their
 * template.json (`info` is undefined when that file cannot be read or is of another format). Anything else under
 * `root` (init's `<key>.tmp-<pid>` work directories, `.run`, files that are not hako's) is not a template.
 */
export function listTemplates(root: string): { dir: string; info: TemplateInfo | undefined }[] {
  if (!isDirectory(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter(
      (e) => e.isDirectory() && TEMPLATE_KEY_PATTERN.test(e.name) && existsSync(join(root, e.name, TEMPLATE_INFO)),
    )
    .map((e) => ({ dir: join(root, e.name), info: readTemplateInfo(join(root, e.name)) }))
    .sort((x, y) => (x.info?.createdAt ?? "").localeCompare(y.info?.createdAt ?? ""));
}

export interface BrokenMark {
  /** ISO time of the failed restore. */
  at: string;
  reason: string;
}

/** Why the template in `dir` is marked broken (its restore failed once), or undefined. */
export function templateBroken(dir: string): BrokenMark | undefined {
  const path = join(dir, TEMPLATE_BROKEN);
  if (!existsSync(path)) return undefined;
  try {
    const mark = JSON.parse(readFileSync(path, "utf8")) as Partial<BrokenMark>;
    return { at: String(mark.at ?? "?"), reason: String(mark.reason ?? "no reason recorded") };
  } catch {
    return { at: "?", reason: `${path} is unreadable` };
  }
}

/**
 * Marks the template in `dir` broken after its restore failed, so that later sandboxes boot without trying it and
 * `hako factory status|init` show and remake it. A mark that cannot be written is logged: the sandbox still boots.
 */
export function markTemplateBroken(dir: string, reason: string, log: Logger): void {
  const mark: BrokenMark = { at: new Date().toISOString(), reason };
  try {
    writeFileSync(join(dir, TEMPLATE_BROKEN), `${JSON.stringify(mark)}\n`);
    log.warn("VM template marked broken: sandboxes boot until hako factory init remakes it", { dir, reason });
  } catch (err) {
    log.warn("could not mark the VM template broken", { dir, reason, error: err });
  }
}

/** The template whose inputs differ from `inputs` in the fewest fields (the newest of equals), with those fields. */
export function closestTemplate(
  templates: { dir: string; info: TemplateInfo | undefined }[],
  inputs: TemplateInputs,
): { dir: string; info: TemplateInfo; changed: string[] } | undefined {
  let best: { dir: string; info: TemplateInfo; changed: string[] } | undefined;
  for (const { dir, info } of templates) {
    if (!info) continue;
    const changed = changedInputs(info.inputs, inputs);
    if (!best || changed.length <= best.changed.length) best = { dir, info, changed };
  }
  return best;
}

export type TemplateLookup = { ok: true; dir: string; info: TemplateInfo } | { ok: false; reason: string };

/**
 * The template for `inputs` under `root`, or why there is none usable: missing (run `hako factory init`), made for
 * other inputs (naming what differs from the closest template), incomplete, or marked broken by a failed restore.
 */
export function findTemplate(root: string, inputs: TemplateInputs): TemplateLookup {
  const key = templateKey(inputs);
  const dir = templateDir(root, key);
  const info = readTemplateInfo(dir);
  const broken = templateBroken(dir);
  if (broken) {
    return {
      ok: false,
      reason: `template ${dir} failed to restore at ${broken.at} (${broken.reason}); run hako factory init to remake it`,
    };
  }
  if (info && existsSync(join(dir, TEMPLATE_MEMORY)) && existsSync(join(dir, TEMPLATE_STATE))) {
    return { ok: true, dir, info };
  }
  if (info || existsSync(dir)) return { ok: false, reason: `template ${dir} is incomplete (run hako factory init)` };
  const closest = closestTemplate(listTemplates(root), inputs);
  if (!closest) return { ok: false, reason: `no VM template under ${root} (run hako factory init)` };
  return {
    ok: false,
    reason: `the VM templates under ${root} were made for other inputs (closest ${closest.info.key}, changed: ${closest.changed.join(", ")}); run hako factory init to make one for the current configuration`,
  };
}

/** Copies the template's RAM file (sparse: only the pages the template touched take space) for one clone. */
export async function copyTemplateMemory(dir: string, dest: string): Promise<void> {
  await execFileAsync("cp", ["--sparse=always", join(dir, TEMPLATE_MEMORY), dest]);
}

interface MigrateStatus {
  status?: string;
  "error-desc"?: string;
}

async function waitForMigration(qmp: QmpClient, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await qmp.execute<MigrateStatus>("query-migrate");
    if (s.status === "completed") return;
    if (s.status === "failed" || s.status === "cancelled") {
      throw new HakoError(Code.Internal, `${what} ${s.status}: ${s["error-desc"] ?? "no reason given by qemu"}`);
    }
    if (Date.now() > deadline) throw new HakoError(Code.DeadlineExceeded, `${what} took over ${timeoutMs} ms`);
    await sleep(5);
  }
}

const ignoreShared = { capabilities: [{ capability: "x-ignore-shared", state: true }] };

/** Saves the paused-or-running template VM's device state (not its RAM: that is the shared file) into `dir`. */
export async function saveTemplateState(qmp: QmpClient, dir: string, timeoutMs = 60_000): Promise<void> {
  await qmp.execute("migrate-set-capabilities", ignoreShared);
  await qmp.execute("stop");
  await qmp.execute("migrate", { uri: `exec:cat > '${join(dir, TEMPLATE_STATE).replaceAll("'", "'\\''")}'` });
  await waitForMigration(qmp, "saving the VM template", timeoutMs);
}

/** Loads a template's device state into a QEMU started with `-incoming defer` over a copy of its RAM, and runs it. */
export async function restoreTemplateState(qmp: QmpClient, dir: string, timeoutMs = 30_000): Promise<void> {
  await qmp.execute("migrate-set-capabilities", ignoreShared);
  await qmp.execute("migrate-incoming", {
    uri: `exec:cat '${join(dir, TEMPLATE_STATE).replaceAll("'", "'\\''")}'`,
  });
  await waitForMigration(qmp, "restoring the VM template", timeoutMs);
  // The template was stopped before its state was saved, so the clone comes up paused.
  const s = await qmp.execute<{ status: string }>("query-status");
  if (s.status !== "running") await qmp.execute("cont");
}
