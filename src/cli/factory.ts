// `hako factory init|status|destroy`: VM templates (Kata's factory verbs); the work is in src/factory/factory.ts.
import { Command } from "@commander-js/extra-typings";
import { createLogger } from "../common/log.js";
import { loadConfig } from "../config/index.js";
import { destroyTemplates, factoryStatus, initTemplate } from "../factory/factory.js";

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
          const r = await initTemplate(config, createLogger(), opts.force);
          const what = r.created ? `made in ${(r.ms / 1000).toFixed(1)} s` : "already up to date";
          process.stdout.write(`template ${r.info.key} ${what}: ${r.dir}\n`);
          if (!config.factory.enableTemplate) {
            process.stdout.write("note: [factory] enable_template is false: sandboxes will not use it\n");
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
          const s = factoryStatus(config, createLogger({ level: "error" }));
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ enabled: config.factory.enableTemplate, ...s }, null, 2)}\n`);
            return;
          }
          const lines = [
            `template_path ${s.root} (enable_template = ${config.factory.enableTemplate}); current key ${s.currentKey}`,
          ];
          if (s.templates.length === 0) lines.push("no templates (hako factory init makes one)");
          for (const t of s.templates) {
            const state = t.current ? "current" : `stale (changed: ${(t.changed ?? ["unreadable"]).join(", ")})`;
            lines.push(`${t.key}  ${mib(t.bytes).padStart(10)}  age ${age(t.ageS).padStart(4)}  ${state}`);
          }
          process.stdout.write(`${lines.join("\n")}\n`);
        }),
    )
    .addCommand(
      new Command("destroy")
        .description("remove every template and the template directory")
        .option(...configOption)
        .action((opts) => {
          const removed = destroyTemplates(load(opts.config));
          process.stdout.write(`removed ${removed.length} entr${removed.length === 1 ? "y" : "ies"}\n`);
        }),
    );
}
