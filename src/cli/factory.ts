// `hako factory init|status|destroy`: VM templates (Kata's factory verbs); the work is in src/factory/factory.ts.
import { Command } from "@commander-js/extra-typings";
import { loadConfig } from "../config/index.js";
import type { HakoConfig } from "../config/types.js";
import {
  type DestroyResult,
  destroyTemplates,
  type FactoryStatus,
  factoryStatus,
  type InitResult,
  initTemplate,
  type TemplateStatus,
} from "../factory/factory.js";
import { templatesUnusable } from "../hypervisor/qemu/qemu-template-vm.js";
import { cliLogger } from "./cli-log.js";

const configOption = [
  "-c, --config <path>",
  "configuration file (default: $HAKO_CONFIG, /etc/hako/configuration.toml)",
] as const;

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

function age(seconds: number | undefined): string {
  if (seconds === undefined) return "?";
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

function templateState(t: TemplateStatus): string {
  let state = t.current ? "current" : `stale (changed: ${(t.changed ?? ["unreadable"]).join(", ")})`;
  if (t.broken) state = `broken: restore failed at ${t.broken.at} (${t.broken.reason}); hako factory init remakes it`;
  if (t.createdInFutureS !== undefined) state += ` (made ${t.createdInFutureS}s in the future: clock set back?)`;
  return state;
}

/** The text `hako factory status` prints. */
export function statusText(s: FactoryStatus, enabled: boolean): string {
  const lines = [`template_path ${s.root} (enable_template = ${enabled}); current key ${s.currentKey}`];
  if (s.unusable) lines.push(`templates are not used with this configuration: ${s.unusable}`);
  if (s.templates.length === 0) lines.push("no templates (hako factory init makes one)");
  for (const t of s.templates) {
    lines.push(`${t.key}  ${mib(t.bytes).padStart(10)}  age ${age(t.ageS).padStart(4)}  ${templateState(t)}`);
  }
  for (const b of s.builds) {
    let what = b.running ? `init running (pid ${b.pid})` : "interrupted build: the next init or destroy removes it";
    if (b.qemuPid !== undefined) {
      what = `interrupted build whose template VM still runs (QEMU pid ${b.qemuPid}): hako factory destroy (or the next init) kills it and removes the files`;
    }
    lines.push(`${b.name}  ${what}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The text `hako factory destroy` prints: what it removed, and what it left. */
export function destroyText(root: string, r: DestroyResult): string {
  const lines: string[] = [];
  for (const key of r.templates) lines.push(`removed template ${key}`);
  for (const name of r.interrupted) lines.push(`removed interrupted build ${name}`);
  if (r.killed.length > 0) lines.push(`killed the QEMU of interrupted builds: pid ${r.killed.join(", ")}`);
  for (const name of r.running) lines.push(`left ${name}: its hako factory init is still running`);
  if (lines.length === 0) lines.push(`no templates under ${root}`);
  if (r.rootRemoved) {
    lines.push(`removed ${root} (empty)`);
    for (const dir of r.parentsRemoved) lines.push(`removed ${dir} (empty; hako factory init had created it)`);
  } else if (r.others.length > 0) {
    const n = r.others.length;
    lines.push(
      `left ${root}: it holds ${n} ${n === 1 ? "entry" : "entries"} that ${n === 1 ? "is" : "are"} not hako's`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Runs init with SIGINT/SIGTERM caught: a signal stops the template VM and removes its files, then the command
 * exits 130 (SIGINT) or 143 (SIGTERM) as a shell expects of a command killed by it.
 */
async function initInterruptible(config: HakoConfig, force: boolean): Promise<InitResult | undefined> {
  const ac = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => ac.abort(signal);
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, onSignal);
  const log = cliLogger();
  try {
    return await initTemplate(config, log, { force, signal: ac.signal });
  } catch (err) {
    if (!ac.signal.aborted) throw err;
    const sig = String(ac.signal.reason);
    // What the person asked for, said as hako's other lines are; the cause (the step cut short) is no news.
    log.info(`${sig}: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = sig === "SIGINT" ? 130 : 143;
    return undefined;
  } finally {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.off(sig, onSignal);
  }
}

export function factoryCommand(): Command<[], Record<string, unknown>> {
  const load = (path: string | undefined) => loadConfig(path === undefined ? {} : { path });
  return new Command("factory")
    .description("VM templates: sandboxes start by restoring a saved guest ([factory] enable_template)")
    .addCommand(
      new Command("init")
        .description("boot and save the VM template for the current configuration (kept if up to date)")
        .option(...configOption)
        .option("--force", "remake the template even if one for the current configuration exists", false)
        .action(async (opts) => {
          const config = load(opts.config);
          const r = await initInterruptible(config, opts.force);
          if (!r) return;
          const what = r.created ? `made in ${(r.ms / 1000).toFixed(1)} s` : "already up to date";
          process.stdout.write(`template ${r.info.key} ${what}: ${r.dir}\n`);
          // A template nothing will use: worth a warning on stderr, stdout keeps the one result line.
          const log = cliLogger();
          const unusable = templatesUnusable(config);
          if (unusable) log.warn(`templates are not used with this configuration: ${unusable}`);
          if (!config.factory.enableTemplate) {
            log.warn("[factory] enable_template is false: sandboxes will not use this template");
          }
        }),
    )
    .addCommand(
      new Command("status")
        .description("list the templates: key, size, age, and whether they match the current configuration")
        .option(...configOption)
        .option("--json", "print as JSON", false)
        .action((opts) => {
          const config = load(opts.config);
          const s = factoryStatus(config, cliLogger({ level: "error" }));
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ enabled: config.factory.enableTemplate, ...s }, null, 2)}\n`);
            return;
          }
          process.stdout.write(statusText(s, config.factory.enableTemplate));
        }),
    )
    .addCommand(
      new Command("destroy")
        .description("remove the templates, and template_path if nothing else is in it")
        .option(...configOption)
        .action(async (opts) => {
          const config = load(opts.config);
          const r = await destroyTemplates(config, cliLogger());
          process.stdout.write(destroyText(config.factory.templatePath, r));
        }),
    );
}
