// `hako factory init|status|destroy`: VM templates under `[factory] template_path`, one directory per template key
// (hypervisor/qemu/template.ts says what a template holds and what its key covers). init boots a template VM with
// the configuration's default sizing, waits for its agent, and saves it; status lists what is there and whether it
// matches the current configuration; destroy removes every template and what init left around them.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { waitForAgent } from "../agent/client/wait-for-agent.js";
import { Code, HakoError } from "../common/errors.js";
import type { Logger } from "../common/log.js";
import type { HakoConfig } from "../config/types.js";
import { currentTemplateInputs, startTemplateVm } from "../hypervisor/qemu/qemu-template-vm.js";
import {
  changedInputs,
  listTemplates,
  readTemplateInfo,
  TEMPLATE_FORMAT,
  TEMPLATE_INFO,
  TEMPLATE_MEMORY,
  TEMPLATE_STATE,
  type TemplateInfo,
  templateDir,
  templateKey,
} from "../hypervisor/qemu/template.js";

/** Where init runs its template VM (QMP, agent socket, console log): beside the templates, removed after. */
const RUN_DIR = ".run";

export interface InitResult {
  dir: string;
  info: TemplateInfo;
  /** False when a template for the current configuration existed and was kept. */
  created: boolean;
  /** Boot to agent-ready plus save, ms (0 when kept). */
  ms: number;
}

/**
 * Makes the template for the current configuration (kept if it exists, unless `force`). Templates of other keys
 * are left alone (status shows them as stale; destroy removes them). Fails with the VM's error if the guest does
 * not come up; nothing of the attempt is left behind then.
 */
export async function initTemplate(config: HakoConfig, logger: Logger, force = false): Promise<InitResult> {
  const root = config.factory.templatePath;
  const key = templateKey(currentTemplateInputs(config, logger));
  const dir = templateDir(root, key);
  const existing = readTemplateInfo(dir);
  if (existing && !force && existsSync(join(dir, TEMPLATE_MEMORY)) && existsSync(join(dir, TEMPLATE_STATE))) {
    return { dir, info: existing, created: false, ms: 0 };
  }
  const started = Date.now();
  const tmp = `${dir}.tmp-${process.pid}`;
  const runRoot = join(root, RUN_DIR);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  mkdirSync(runRoot, { recursive: true, mode: 0o700 });
  try {
    const vm = await startTemplateVm(config, `template-${key}`, runRoot, tmp, logger);
    try {
      if (vm.key !== key) {
        throw new HakoError(Code.Internal, `template VM came up with key ${vm.key}, expected ${key}`);
      }
      const agent = await waitForAgent(vm.agentAddress, {
        timeoutMs: Math.max(1, config.agent.dialTimeoutS) * 1000,
        logger: logger.child({ subsystem: "agent-client" }),
      });
      agent.close();
      // Let the guest see the host hang up, so that clones wake with the agent waiting for a new connection.
      await sleep(200);
      await vm.save();
      const info: TemplateInfo = {
        format: TEMPLATE_FORMAT,
        key,
        createdAt: new Date().toISOString(),
        inputs: vm.inputs,
      };
      writeFileSync(join(tmp, TEMPLATE_INFO), `${JSON.stringify(info, null, 2)}\n`);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      return { dir, info, created: true, ms: Date.now() - started };
    } finally {
      await vm.stop();
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    rmSync(runRoot, { recursive: true, force: true });
  }
}

export interface TemplateStatus {
  dir: string;
  key: string;
  /** ISO time, or undefined for a directory without a readable template.json. */
  createdAt?: string;
  ageS?: number;
  /** Bytes the template takes on its filesystem (the RAM file is sparse: only pages the guest touched). */
  bytes: number;
  /** Matches the current configuration: sandboxes will start from it. */
  current: boolean;
  /** For a template that does not match: the inputs that changed. */
  changed?: string[];
}

function allocatedBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) total += statSync(join(dir, name)).blocks * 512;
  return total;
}

export function factoryStatus(
  config: HakoConfig,
  logger: Logger,
): { root: string; currentKey: string; templates: TemplateStatus[] } {
  const root = config.factory.templatePath;
  const inputs = currentTemplateInputs(config, logger);
  const currentKey = templateKey(inputs);
  const templates = listTemplates(root).map(({ dir, info }): TemplateStatus => {
    const key = info?.key ?? dir.slice(root.length + 1);
    const s: TemplateStatus = { dir, key, bytes: allocatedBytes(dir), current: key === currentKey };
    if (info) {
      s.createdAt = info.createdAt;
      s.ageS = Math.round((Date.now() - Date.parse(info.createdAt)) / 1000);
      if (!s.current) s.changed = changedInputs(info.inputs, inputs);
    }
    return s;
  });
  return { root, currentKey, templates };
}

/** Removes every template under template_path and the directory itself; returns the template directories removed. */
export function destroyTemplates(config: HakoConfig): string[] {
  const root = config.factory.templatePath;
  if (!existsSync(root)) return [];
  const removed = readdirSync(root).map((n) => join(root, n));
  rmSync(root, { recursive: true, force: true });
  return removed;
}
