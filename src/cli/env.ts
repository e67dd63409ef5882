// `hako env`: the effective configuration (file over built-in defaults) and what it resolves to on this host —
// asset paths with sizes and manifest status, tool versions, the accelerator — for bug reports and for scripts.
import { Command } from "@commander-js/extra-typings";
import { activeHypervisor, type HakoConfig, loadConfig } from "../config/index.js";
import { probeAccelerator } from "../hypervisor/accel.js";
import { describeSnapshotVm } from "../image/manifest.js";
import { type AssetsFacts, assetFacts, cgroupLayout, containerdFacts, toolVersion } from "./host-facts.js";

export interface EnvReport {
  config: HakoConfig;
  host: {
    accelerator: string;
    acceleratorReason: string;
    cgroups: string;
    qemuVersion: string | null;
    virtiofsdVersion: string | null;
    containerdVersion: string | null;
    shim: string | null;
  };
  assets: AssetsFacts;
  hako: { version: string; node: string };
}

export async function collectEnv(configPath?: string): Promise<EnvReport> {
  const config = loadConfig(configPath === undefined ? {} : { path: configPath });
  const probe = probeAccelerator();
  const hv = config.hypervisor.qemu;
  const [qemu, vfs, containerd, assets] = await Promise.all([
    toolVersion(hv.path),
    hv.sharedFs === "virtio-fs" ? toolVersion(hv.virtioFsDaemon) : Promise.resolve(undefined),
    containerdFacts(),
    // Sizes only: hashing the root image is `hako check`'s job, env should answer at once.
    assetFacts(config, false),
  ]);
  return {
    config,
    host: {
      accelerator: hv.accel === "auto" ? probe.usable : `${hv.accel} (forced)`,
      acceleratorReason: probe.reason,
      cgroups: cgroupLayout(),
      qemuVersion: qemu ?? null,
      virtiofsdVersion: vfs ?? null,
      containerdVersion: containerd.version ?? null,
      shim: containerd.shim ?? null,
    },
    assets,
    hako: { version: process.env.npm_package_version ?? "0.1.0", node: process.version },
  };
}

/** The image's agent startup snapshot and the VM it was made for (`hako check` says whether it fits this host). */
function agentSnapshot(a: AssetsFacts): string | undefined {
  const s = a.snapshot;
  if (!s) return undefined;
  if (!s.vm) return "none";
  return s.made ? `key ${s.made.key}, made for ${describeSnapshotVm(s.vm)}` : `none (the snapshot boot failed)`;
}

const tomlValue = (v: unknown): string => (typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v));

/** Config fields shown in [config] or [config.hypervisor…] rather than as a section of their own. */
const CONFIG_TOP_LEVEL = new Set<string>(["source", "ignoredKeys", "hypervisor"] satisfies (keyof HakoConfig)[]);

/** TOML-shaped sections; keys are hako's effective settings (camelCase), not the file's Kata key names. */
export function renderEnv(r: EnvReport): string {
  const out: string[] = [];
  const section = (name: string, values: Record<string, unknown>) => {
    out.push(`[${name}]`);
    for (const [k, v] of Object.entries(values)) if (v !== undefined) out.push(`  ${k} = ${tomlValue(v)}`);
    out.push("");
  };
  section("config", { source: r.config.source ?? "built-in defaults", ignored_keys: r.config.ignoredKeys });
  const hv = r.config.hypervisor;
  section("config.hypervisor", { kind: hv.kind });
  section(`config.hypervisor.${hv.kind}`, activeHypervisor(r.config) as unknown as Record<string, unknown>);
  // Every other section of the config as it is (agent, runtime, factory, and any added later), so that the text
  // shows what --json does.
  for (const [name, values] of Object.entries(r.config)) {
    if (CONFIG_TOP_LEVEL.has(name) || typeof values !== "object" || values === null) continue;
    section(`config.${name}`, values as Record<string, unknown>);
  }
  section("host", r.host);
  section("assets", {
    manifest: r.assets.manifestFound ? r.assets.manifestPath : `${r.assets.manifestPath} (missing)`,
    kernel_release: r.assets.kernelRelease,
    kernel_origin: r.assets.kernelOrigin,
    agent_snapshot: agentSnapshot(r.assets),
  });
  for (const a of r.assets.assets) {
    section(`assets.${a.role}`, { path: a.path, exists: a.exists, size: a.size, manifest: a.manifest });
  }
  section("hako", r.hako);
  return out.join("\n");
}

export function envCommand() {
  return new Command("env")
    .description("show the effective configuration and what it resolves to on this host")
    .option("--json", "print as JSON", false)
    .option("-c, --config <path>", "configuration file (default: $HAKO_CONFIG, /etc/hako/configuration.toml)")
    .action(async (opts) => {
      const report = await collectEnv(opts.config);
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderEnv(report));
    });
}
