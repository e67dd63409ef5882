// `hako check`: can this host run hako sandboxes, and how well? Every item says what was found and, when it is not
// fine, what to do. Exits 0 only when sandboxes can run (warnings — slower paths — do not count against that).
import { existsSync } from "node:fs";
import { Command } from "@commander-js/extra-typings";
import { Code, HakoError } from "../common/errors.js";
import { type HakoConfig, loadConfig } from "../config/index.js";
import { type AccelProbe, probeAccelerator } from "../hypervisor/accel.js";
import type { Accelerator } from "../hypervisor/hypervisor.js";
import { assetFacts, cgroupLayout, containerdFacts, toolVersion } from "./host-facts.js";

export type CheckStatus = "ok" | "warn" | "fail";

export interface CheckItem {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

export interface CheckReport {
  /** True when sandboxes can run here. */
  ok: boolean;
  config: string;
  accelerator: Accelerator | null;
  items: CheckItem[];
}

export interface CheckOptions {
  configPath?: string;
  /** Root of /dev, /sys and /proc for the accelerator probe (tests). */
  probe?: () => AccelProbe;
  devRoot?: string;
  containerdConfig?: string;
}

const item = (id: string, title: string, status: CheckStatus, detail: string, fix?: string): CheckItem =>
  fix === undefined ? { id, title, status, detail } : { id, title, status, detail, fix };

function acceleratorItems(config: HakoConfig, probe: AccelProbe): { items: CheckItem[]; accel: Accelerator } {
  const items: CheckItem[] = [];
  const pvm = /kvm_pvm|PVM/.test(probe.reason);
  if (probe.usable === "kvm") items.push(item("kvm", "/dev/kvm", "ok", probe.reason));
  else {
    items.push(
      item(
        "kvm",
        "/dev/kvm",
        "warn",
        pvm ? `PVM host: ${probe.reason}` : probe.reason,
        pvm
          ? "standard guest kernels need hardware KVM: run on a host (or a VM with nested virtualization) whose CPU exposes vmx/svm with kvm_intel/kvm_amd loaded"
          : "load kvm_intel or kvm_amd (modprobe) on a CPU with vmx/svm, or enable nested virtualization in the outer hypervisor",
      ),
    );
  }
  const choice = config.hypervisor.qemu.accel;
  const accel: Accelerator = choice === "auto" ? probe.usable : choice;
  if (choice === "kvm" && probe.usable !== "kvm") {
    items.push(
      item(
        "accelerator",
        "accelerator",
        "fail",
        'accel = "kvm" is forced in the config but KVM cannot run a standard guest here',
        'set accel = "auto" (or "tcg") under [hypervisor.qemu]',
      ),
    );
  } else if (accel === "kvm") {
    items.push(
      item("accelerator", "accelerator", "ok", "kvm: hardware virtualization, sandboxes start in well under a second"),
    );
  } else {
    items.push(
      item(
        "accelerator",
        "accelerator",
        "warn",
        `tcg${choice === "tcg" ? " (forced by the config)" : ""}: QEMU emulates the guest CPU in software; a sandbox starts in seconds rather than under one, and CPU-heavy work in it runs several times slower`,
        choice === "tcg"
          ? 'set accel = "auto" to use KVM where it works'
          : "run on a host with hardware KVM for full speed",
      ),
    );
  }
  return { items, accel };
}

function deviceItems(config: HakoConfig, dev: string): CheckItem[] {
  const items: CheckItem[] = [];
  const vsock = existsSync(`${dev}/vhost-vsock`);
  if (vsock) items.push(item("vhost-vsock", "/dev/vhost-vsock", "ok", "the agent can be reached over vsock"));
  else if (config.hypervisor.qemu.agentChannel === "vsock") {
    items.push(
      item(
        "vhost-vsock",
        "/dev/vhost-vsock",
        "fail",
        'agent_channel = "vsock" is configured but /dev/vhost-vsock is missing',
        'modprobe vhost_vsock, or set agent_channel = "auto"',
      ),
    );
  } else {
    items.push(
      item(
        "vhost-vsock",
        "/dev/vhost-vsock",
        "warn",
        "missing: the agent is reached over a virtio-serial port instead (works, one channel per VM)",
        "modprobe vhost_vsock",
      ),
    );
  }
  if (config.hypervisor.qemu.disableVhostNet)
    items.push(item("vhost-net", "/dev/vhost-net", "ok", "not used (disable_vhost_net = true)"));
  else if (existsSync(`${dev}/vhost-net`))
    items.push(item("vhost-net", "/dev/vhost-net", "ok", "guest network packets bypass QEMU's main loop"));
  else
    items.push(
      item(
        "vhost-net",
        "/dev/vhost-net",
        "warn",
        "missing: guest networking goes through QEMU in user space (slower)",
        "modprobe vhost_net",
      ),
    );
  // A warning, not a failure: sandboxes run without it, and only pod networking (tap devices) will need it.
  if (existsSync(`${dev}/net/tun`)) items.push(item("tun", "/dev/net/tun", "ok", "tap devices for pod networking"));
  else
    items.push(
      item(
        "tun",
        "/dev/net/tun",
        "warn",
        "missing: sandboxes run without it, but pod networking will need it for tap devices",
        "modprobe tun",
      ),
    );
  return items;
}

async function toolItems(config: HakoConfig): Promise<CheckItem[]> {
  const hv = config.hypervisor.qemu;
  const items: CheckItem[] = [];
  const qemu = await toolVersion(hv.path);
  items.push(
    qemu
      ? item("qemu", "QEMU", "ok", `${hv.path}: ${qemu}`)
      : item(
          "qemu",
          "QEMU",
          "fail",
          `${hv.path} is missing or does not run`,
          "apt-get install qemu-system-x86, or set path under [hypervisor.qemu] to a working QEMU",
        ),
  );
  if (hv.sharedFs === "virtio-fs") {
    const vfs = await toolVersion(hv.virtioFsDaemon);
    items.push(
      vfs
        ? item("virtiofsd", "virtiofsd", "ok", `${hv.virtioFsDaemon}: ${vfs}`)
        : item(
            "virtiofsd",
            "virtiofsd",
            "fail",
            `${hv.virtioFsDaemon} is missing or does not run`,
            "apt-get install qemu-system-x86 (it ships /usr/lib/qemu/virtiofsd), or set virtio_fs_daemon",
          ),
    );
  } else items.push(item("virtiofsd", "virtiofsd", "ok", `not used (shared_fs = ${hv.sharedFs})`));
  return items;
}

async function assetItems(config: HakoConfig): Promise<CheckItem[]> {
  const facts = await assetFacts(config);
  const items: CheckItem[] = [];
  const rebuild = "run `hako image build` (or `npm run setup`)";
  for (const a of facts.assets) {
    const title = `guest ${a.role}`;
    if (!a.exists) items.push(item(`asset-${a.role}`, title, "fail", `${a.path} does not exist`, rebuild));
    else if (a.manifest === "mismatch") {
      items.push(
        item(
          `asset-${a.role}`,
          title,
          "fail",
          `${a.path} differs from ${facts.manifestPath} (size or sha256)`,
          `${rebuild} to rebuild it`,
        ),
      );
    } else if (a.manifest === "match")
      items.push(item(`asset-${a.role}`, title, "ok", `${a.path} matches the manifest`));
    else {
      const why = a.manifest === "no-manifest" ? `no ${facts.manifestPath}` : `not listed in ${facts.manifestPath}`;
      items.push(
        item(
          `asset-${a.role}`,
          title,
          "warn",
          `${a.path} present but unverified (${why})`,
          "use assets built by `hako image build`, which records their sha256",
        ),
      );
    }
  }
  return items;
}

function cgroupItem(): CheckItem {
  const layout = cgroupLayout();
  const detail = {
    v2: "cgroup v2 (unified)",
    hybrid:
      "cgroup v1 controllers with a v2 unified mount (hybrid); hako sizes the VM from the pod's limits either way",
    v1: "cgroup v1 only",
    none: "no cgroup filesystem mounted",
  }[layout];
  return layout === "none"
    ? item("cgroups", "cgroups", "fail", detail, "mount cgroup2 at /sys/fs/cgroup (systemd does this at boot)")
    : item("cgroups", "cgroups", "ok", detail);
}

async function containerdItems(configPath: string | undefined): Promise<CheckItem[]> {
  const c = await containerdFacts(configPath);
  const items: CheckItem[] = [];
  items.push(
    c.binary
      ? item("containerd", "containerd", "ok", `${c.binary}: ${c.version ?? "version unknown"}`)
      : item("containerd", "containerd", "fail", "containerd is not on PATH", "apt-get install containerd"),
  );
  items.push(
    c.shim
      ? item(
          "shim",
          "containerd-shim-hako-v2",
          "ok",
          `${c.shim} (containerd finds io.containerd.hako.v2 by name on PATH)`,
        )
      : item(
          "shim",
          "containerd-shim-hako-v2",
          "fail",
          "not on PATH: containerd cannot start io.containerd.hako.v2",
          "run `npm run setup` (links the shim into /usr/local/bin)",
        ),
  );
  items.push(
    c.criRuntimeConfigured
      ? item(
          "containerd-cri",
          "containerd CRI runtime",
          "ok",
          `${c.configPath} has a runtime with runtime_type = "io.containerd.hako.v2"`,
        )
      : item(
          "containerd-cri",
          "containerd CRI runtime",
          "warn",
          `${c.configFound ? c.configPath : "no containerd config"}: no CRI runtime uses io.containerd.hako.v2 (ctr --runtime works; Kubernetes needs one)`,
          `add to ${c.configPath}: [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hako] runtime_type = "io.containerd.hako.v2", then restart containerd and create a RuntimeClass with handler "hako"`,
        ),
  );
  return items;
}

/** Runs every check. A config that cannot be loaded is itself a failed item, not an exception. */
export async function runChecks(options: CheckOptions = {}): Promise<CheckReport> {
  let config: HakoConfig;
  try {
    config = loadConfig(options.configPath === undefined ? {} : { path: options.configPath });
  } catch (err) {
    const e = HakoError.from(err);
    return {
      ok: false,
      config: options.configPath ?? "(default lookup)",
      accelerator: null,
      items: [
        item(
          "config",
          "configuration",
          "fail",
          e.message,
          "fix the file named above, or point --config / $HAKO_CONFIG at another",
        ),
      ],
    };
  }
  const items: CheckItem[] = [
    item(
      "config",
      "configuration",
      "ok",
      config.source ? `loaded from ${config.source}` : "built-in defaults (no /etc/hako/configuration.toml)",
    ),
  ];
  const probe = (options.probe ?? probeAccelerator)();
  const accel = acceleratorItems(config, probe);
  items.push(...accel.items);
  items.push(...deviceItems(config, options.devRoot ?? "/dev"));
  items.push(...(await toolItems(config)));
  items.push(...(await assetItems(config)));
  items.push(cgroupItem());
  items.push(...(await containerdItems(options.containerdConfig)));
  return {
    ok: items.every((i) => i.status !== "fail"),
    config: config.source ?? "built-in defaults",
    accelerator: accel.accel,
    items,
  };
}

export function renderReport(report: CheckReport, color: boolean): string {
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const mark = { ok: paint("32", "ok  "), warn: paint("33", "warn"), fail: paint("31", "FAIL") };
  const width = Math.max(...report.items.map((i) => i.title.length));
  const lines: string[] = [];
  for (const i of report.items) {
    lines.push(`${mark[i.status]}  ${i.title.padEnd(width)}  ${i.detail}`);
    if (i.fix && i.status !== "ok") lines.push(`      ${" ".repeat(width)}  fix: ${i.fix}`);
  }
  lines.push("");
  lines.push(
    report.ok
      ? `hako can run sandboxes here (accelerator: ${report.accelerator}).`
      : "hako cannot run sandboxes here until the FAIL items are fixed.",
  );
  return `${lines.join("\n")}\n`;
}

export function checkCommand() {
  return new Command("check")
    .description("check whether this host can run hako sandboxes, and how fast")
    .option("--json", "print the report as JSON", false)
    .option("-c, --config <path>", "configuration file (default: $HAKO_CONFIG, /etc/hako/configuration.toml)")
    .action(async (opts) => {
      const report = await runChecks(opts.config === undefined ? {} : { configPath: opts.config });
      process.stdout.write(
        opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report, process.stdout.isTTY),
      );
      if (!report.ok) {
        const failed = report.items.filter((i) => i.status === "fail").map((i) => i.id);
        // Thrown rather than setting exitCode: main() turns it into a one-line error and exit status 1.
        throw new HakoError(
          Code.FailedPrecondition,
          `this host cannot run sandboxes: failed checks: ${failed.join(", ")}`,
        );
      }
    });
}
