// A VM template for the benchmark and the demo: a config like theirs with `[factory] enable_template` on, and its
// template made, so that one run can start hako both ways (the shim gets the config as the runtime's config path).
import { existsSync, rmSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createLogger } from "../src/common/log.js";
import { loadConfig, systemConfigPath } from "../src/config/index.js";
import { destroyTemplates, initTemplate } from "../src/factory/factory.js";

/**
 * Writes (into `dir`) a config like the benchmark's with `[factory] enable_template` on and makes its VM template, so that one
 * run measures hako both booting and restoring. A failure is recorded, not fatal: the template rows say why.
 * Aborting `signal` (the caller's SIGINT/SIGTERM) stops the template VM at once; init removes what it made and this
 * resolves with the reason as templateError, so the caller tears down after it instead of leaving the VM running.
 */
export async function prepareTemplate(
  dir: string,
  configPath: string | undefined,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<{ ctx: { templateConfig?: string; templateError?: string }; destroy: () => Promise<void> }> {
  const base = configPath ?? process.env.HAKO_CONFIG ?? (existsSync(systemConfigPath) ? systemConfigPath : undefined);
  const path = join(dir, "configuration.toml");
  await mkdir(dir, { recursive: true });
  const text = base ? await readFile(base, "utf8") : "";
  await writeFile(path, `${text}\n[factory]\nenable_template = true\ntemplate_path = "${dir}/templates"\n`);
  const config = loadConfig({ path });
  const destroy = async () => {
    await destroyTemplates(config, createLogger({ level: "error" }));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    log("making the VM template");
    const r = await initTemplate(config, createLogger({ level: "error" }), {
      force: true,
      ...(signal ? { signal } : {}),
    });
    log(`template ${r.info.key} made in ${(r.ms / 1000).toFixed(1)} s`);
    return { ctx: { templateConfig: path }, destroy };
  } catch (err) {
    log(`no VM template: ${(err as Error).message}`);
    return { ctx: { templateError: `the VM template could not be made: ${(err as Error).message}` }, destroy };
  }
}
