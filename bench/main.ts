// `npm run bench`: start latency (hako vs runc vs a raw VM boot), hako's start-up phases, host memory per sandbox,
// virtio-fs throughput and pod networking (throughput, round trip and start cost, hako vs runc), all measured in one
// run against a private containerd. Writes bench/results/latest.json, latest.md and latest.svg, prints the markdown,
// and at the end says where they went.
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, release } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type Containerd, cleanupStaleInstances, startContainerdWithBusybox } from "../test/helpers/containerd.js";
import { testKernel } from "../test/helpers/test-guest.js";
import { type BenchArgs, parseBenchArgs, USAGE } from "./args.js";
import { type BenchContext, hostSettings, notAvailable, type Section } from "./context.js";
import { formatJson } from "./json.js";
import { type MemoryResult, measureMemory } from "./memory.js";
import { measureNetwork, type NetworkResult } from "./network.js";
import { renderMarkdown } from "./report.js";
import { signalExitCode, tearDownRun } from "./run-teardown.js";
import { measureStartLatency, type StartLatency } from "./start-latency.js";
import { renderSvg } from "./svg.js";
import { prepareTemplate } from "./template-config.js";
import { measureVirtiofs, type Throughput } from "./virtiofs.js";

const BASE_DIR = "/run/hako-bench";
/** The template config and its templates: outside BASE_DIR, which the containerd clean-up removes whole. */
const FACTORY_DIR = "/run/hako-bench-factory";
const NAMESPACE = "hako-bench";
const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "results");

export interface BenchResult {
  startedAt: string;
  runs: number;
  host: { kernel: string; cpus: number; accelerator: string; accelReason: string; guestKernel: string; qemu: string };
  startLatency: Section<StartLatency>;
  memory: Section<MemoryResult>;
  virtiofs: Section<Throughput>;
  network: Section<NetworkResult>;
}

async function main(): Promise<number> {
  let args: BenchArgs;
  let settings: ReturnType<typeof hostSettings>;
  try {
    args = parseBenchArgs(process.argv.slice(2));
    if (args.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    // A config that cannot be read or is invalid is a bad --config (or $HAKO_CONFIG): said before any set-up.
    settings = hostSettings(args.config);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  for (const dir of await cleanupStaleInstances(BASE_DIR, NAMESPACE)) log(`removed a previous run's leftovers: ${dir}`);
  // A signal while the template is made stops its VM (init cleans up, then main returns); later, it tears the run down.
  const interrupted = new AbortController();
  let tearDown: (() => Promise<void>) | undefined;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      interrupted.abort(signal);
      if (tearDown) void tearDown().finally(() => process.exit(signalExitCode(signal)));
    });
  }
  const templates = await prepareTemplate(FACTORY_DIR, args.config, log, interrupted.signal);
  if (interrupted.signal.aborted) {
    await templates.destroy();
    return signalExitCode(interrupted.signal.reason as NodeJS.Signals);
  }

  let containerd: Containerd | undefined;
  let written = false;
  const stop = async () => {
    const c = containerd;
    containerd = undefined;
    for (const l of await tearDownRun(BASE_DIR, NAMESPACE, c)) log(`warning: cleaned up a leftover ${l}`);
  };
  tearDown = async () => {
    await stop();
    await templates.destroy();
  };
  try {
    log("starting a private containerd");
    const started = await startContainerdWithBusybox({ baseDir: BASE_DIR, namespace: NAMESPACE });
    containerd = started.containerd;
    const ctx: BenchContext = {
      containerd: started.containerd,
      image: started.image,
      runs: args.runs,
      concurrency: args.concurrency,
      fileMiB: args.fileMiB,
      podCounts: args.podCounts,
      ...settings,
      debianKernel: (await testKernel()).vmlinux,
      ...templates.ctx,
      tag: `bench-${process.pid}`,
      log,
    };
    const skipped = notAvailable("skipped (--skip)");
    const result: BenchResult = {
      startedAt: new Date().toISOString(),
      runs: ctx.runs,
      host: {
        kernel: release(),
        cpus: cpus().length,
        accelerator: settings.accelerator,
        accelReason: settings.accelReason,
        guestKernel: settings.kernel,
        qemu: settings.qemu,
      },
      startLatency: args.skip.has("latency") ? skipped : await measureStartLatency(ctx),
      memory: args.skip.has("memory") ? skipped : await measureMemory(ctx),
      virtiofs: args.skip.has("virtiofs") ? skipped : await measureVirtiofs(ctx),
      network: args.skip.has("network") ? skipped : await measureNetwork(ctx),
    };
    const md = renderMarkdown(result);
    await mkdir(resultsDir, { recursive: true });
    await writeFile(join(resultsDir, "latest.json"), `${formatJson(result)}\n`);
    await writeFile(join(resultsDir, "latest.md"), md);
    await writeFile(join(resultsDir, "latest.svg"), renderSvg(result));
    process.stdout.write(md);
    written = true;
    return 0;
  } finally {
    await tearDown();
    if (written) log(`results written to ${relative(process.cwd(), resultsDir) || "."}/latest.{json,md,svg}`);
  }
}

process.exit(await main());
