// The demo behind `npm run demo`: one private containerd, the same busybox image run with runc, with hako booting
// its VM and with hako restoring a VM template, and the kernel each container sees and each start's time printed
// side by side. Tears everything down (templates included) on success, failure and Ctrl-C.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { release } from "node:os";
import { signalExitCode, tearDownRun } from "../bench/run-teardown.js";
import { prepareTemplate } from "../bench/template-config.js";
import {
  type Containerd,
  type CtrResult,
  cleanupStaleInstances,
  HAKO_RUNTIME,
  RUNC_RUNTIME,
  startContainerdWithBusybox,
} from "../test/helpers/containerd.js";

const BASE_DIR = "/run/hako-demo";
const FACTORY_DIR = "/run/hako-demo-factory";
const NAMESPACE = "hako-demo";
const HAKO_TIMEOUT_MS = 180_000;

const say = (line = ""): void => {
  process.stdout.write(`${line}\n`);
};
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

let containerd: Containerd | undefined;
let tearingDown: Promise<void> | undefined;
let destroyTemplate: () => void = () => {};
/** The signal that interrupted the demo; it also stops a template being made (its VM is killed, its files removed). */
let interrupted: NodeJS.Signals | undefined;
const stopTemplate = new AbortController();
let makingTemplate = false;

function teardown(): Promise<void> {
  tearingDown ??= (async () => {
    // Interrupted while containerd was still starting, nothing holds it yet but its pid file is already there:
    // tearDownRun then cleans the base directory.
    for (const l of await tearDownRun(BASE_DIR, NAMESPACE, containerd)) say(`cleaned up a leftover ${l}`);
  })()
    .finally(() => destroyTemplate())
    .catch((err: unknown) => say(`teardown failed: ${err instanceof Error ? err.message : String(err)}`));
  return tearingDown;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    interrupted = signal;
    say(`\n${signal}: tearing down…`);
    stopTemplate.abort(signal);
    // While the template is made, main returns once init has stopped its VM, and tears down then.
    if (!makingTemplate) void teardown().finally(() => process.exit(signalExitCode(signal)));
  });
}

function onPath(binary: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why the hako half failed, in terms the user can act on. */
function explainHakoFailure(r: CtrResult, logTail: string): string[] {
  const lines = [`hako run failed (exit ${r.code ?? "killed"}).`];
  if (!onPath("containerd-shim-hako-v2")) {
    lines.push("  containerd-shim-hako-v2 is not on PATH: run `npm run setup` (it links bin/ into /usr/local/bin).");
  }
  if (!existsSync("/var/lib/hako/vmlinux")) {
    lines.push("  the guest assets are missing under /var/lib/hako: run `hako image build` (part of `npm run setup`).");
  }
  const err = r.stderr.trim();
  if (err) lines.push("  ctr said:", ...err.split("\n").map((l) => `    ${l}`));
  const shimLines = logTail
    .split("\n")
    .filter((l) => /hako/i.test(l) && !/runc/.test(l) && /level=(error|warning)/.test(l))
    .slice(-8);
  if (shimLines.length > 0) lines.push("  containerd's log:", ...shimLines.map((l) => `    ${l}`));
  lines.push("  `hako check` explains what this host can run.");
  return lines;
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main(): Promise<number> {
  for (const dir of await cleanupStaleInstances(BASE_DIR, NAMESPACE)) say(`removed a previous run's leftovers: ${dir}`);
  say(bold("hako demo: the same image under two runtimes"));
  say("starting a private containerd and importing hako.local/busybox:latest (built locally from busybox-static)…");
  const started = await startContainerdWithBusybox({ baseDir: BASE_DIR, namespace: NAMESPACE });
  containerd = started.containerd;
  const image = started.image;

  const id = `demo-${process.pid}`;
  say(`running \`uname -r\` with runc…`);
  const runc = await containerd.run(RUNC_RUNTIME, image, `${id}-runc`, ["uname", "-r"], { timeoutMs: 60_000 });
  say(`running \`uname -r\` with hako (a VM boots; under TCG this takes seconds)…`);
  const hako = await containerd.run(HAKO_RUNTIME, image, id, ["uname", "-r"], { timeoutMs: HAKO_TIMEOUT_MS });
  if (interrupted) return signalExitCode(interrupted);
  say("making a VM template (hako factory init: boot once, save the guest with its agent waiting)…");
  makingTemplate = true;
  const template = await prepareTemplate(FACTORY_DIR, undefined, (l) => say(`  ${l}`), stopTemplate.signal);
  makingTemplate = false;
  destroyTemplate = template.destroy;
  if (interrupted) return signalExitCode(interrupted);
  let fromTemplate: CtrResult | undefined;
  if (template.ctx.templateConfig) {
    say("running `uname -r` with hako from the template (the VM is restored, not booted)…");
    fromTemplate = await containerd.run(HAKO_RUNTIME, image, `${id}-tpl`, ["uname", "-r"], {
      timeoutMs: HAKO_TIMEOUT_MS,
      extra: ["--runtime-config-path", template.ctx.templateConfig],
    });
  } else say(`no template: ${template.ctx.templateError}`);
  if (interrupted) return signalExitCode(interrupted);

  const rows: [string, string, string, string][] = [
    ["", "runtime", "kernel the container sees", "ctr run --rm"],
    ["host", "-", release(), "-"],
    ["runc", RUNC_RUNTIME, runc.code === 0 ? runc.stdout.trim() : `failed (exit ${runc.code})`, fmt(runc.ms)],
    [
      "hako",
      HAKO_RUNTIME,
      hako.code === 0 ? hako.stdout.trim() : `failed (exit ${hako.code ?? "killed"})`,
      fmt(hako.ms),
    ],
  ];
  if (fromTemplate) {
    rows.push([
      "hako (template)",
      HAKO_RUNTIME,
      fromTemplate.code === 0 ? fromTemplate.stdout.trim() : `failed (exit ${fromTemplate.code ?? "killed"})`,
      fmt(fromTemplate.ms),
    ]);
  }
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i as 0 | 1 | 2 | 3].length)));
  say();
  for (const r of rows) say(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("   "));
  say();
  if (runc.code !== 0) say(`runc run failed: ${runc.stderr.trim()}`);
  if (hako.code === 0) {
    const same = hako.stdout.trim() === release();
    say(
      same
        ? "hako's container reports the host's kernel release: is the guest kernel the same build as the host's?"
        : "runc's container shares the host kernel; hako's container runs on its own guest kernel inside a VM,\n" +
            "so a kernel exploit in the container reaches that VM's kernel, not the host's.",
    );
    if (runc.code === 0) {
      say(`start-to-exit time: hako ${fmt(hako.ms)} vs runc ${fmt(runc.ms)} (${(hako.ms / runc.ms).toFixed(1)}×).`);
    }
    if (fromTemplate?.code === 0) {
      say(
        `from the template: ${fmt(fromTemplate.ms)} (${(fromTemplate.ms / hako.ms).toFixed(2)}× the cold start): ` +
          "no kernel boot, no Node start in the guest; the share is hot-plugged and the clone reseeded.",
      );
    }
    const phases = await containerd.sandboxPhases(id);
    if (phases) {
      const steps = Object.entries(phases)
        .sort((a, b) => a[1] - b[1])
        .map(([name, at]) => `${name} ${fmt(at)}`);
      say(`inside hako's start (from the shim's log, since it began creating the VM): ${steps.join(", ")}.`);
    }
    if (/tcg/.test((await containerd.shimLog(id)).map((e) => String(e.accelerator ?? "")).join(" "))) {
      say("this host has no usable KVM, so the VM runs under TCG (software emulation): `hako check` says why.");
    }
  } else {
    for (const l of explainHakoFailure(hako, await containerd.logTail(200))) say(l);
  }
  return runc.code === 0 && hako.code === 0 && (fromTemplate === undefined || fromTemplate.code === 0) ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  say(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await teardown();
}
process.exit(code);
