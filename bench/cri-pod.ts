// `npm run bench:cri`: a pod's start as kubelet drives it, through containerd's CRI plugin — RunPodSandbox, then
// CreateContainer + StartContainer of one container — with the `hako` handler and the `runc` handler, interleaved in
// the same run against one private CRI node (test/helpers/cri-node.ts: everything inside a test-made network
// namespace). Also the host memory (PSS) of an idle hako pod: the shim, QEMU and virtiofsd, which is what
// deploy/runtimeclass.yaml's overhead.podFixed stands for. Writes bench/results/cri-pod.json and .md.
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BUSYBOX_IMAGE_REF } from "../test/helpers/busybox-image.js";
import { CRI_HAKO_HANDLER, CRI_RUNC_HANDLER } from "../test/helpers/containerd.js";
import { CriNode } from "../test/helpers/cri-node.js";
import { hostProcesses } from "../test/helpers/processes.js";
import { memoryOf, processTrees } from "./proc-memory.js";
import { median, min, ratio, round } from "./stats.js";

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "results");
const HANDLERS = [CRI_HAKO_HANDLER, CRI_RUNC_HANDLER] as const;

interface PodStart {
  /** RunPodSandbox returned (the pod READY), ms. */
  sandboxMs: number;
  /** StartContainer of the first container returned (it runs), ms since RunPodSandbox was sent. */
  firstContainerMs: number;
}

/** One pod: RunPodSandbox → create + start `sleep` → measured; then the pod's PSS if asked; then removed. */
async function onePod(node: CriNode, handler: string, n: number, measurePss: boolean) {
  const config = await node.podConfig(`bench-${handler}-${n}`);
  const t0 = performance.now();
  const pod = await node.runPod(config, handler);
  const sandboxMs = performance.now() - t0;
  const c = await node.cri.createContainer(
    pod,
    { metadata: { name: "first" }, image: { image: BUSYBOX_IMAGE_REF }, command: ["sleep", "600"] },
    config,
  );
  await node.cri.startContainer(c);
  const start: PodStart = { sandboxMs, firstContainerMs: performance.now() - t0 };
  let pssMiB: number | undefined;
  if (measurePss) {
    // The shim started for this pod (its argv names the sandbox id) and everything below it: QEMU, virtiofsd.
    const shim = hostProcesses().find((p) => p.cmd.includes("containerd-shim-hako-v2") && p.argv.includes(pod));
    if (shim) pssMiB = memoryOf(processTrees([shim.pid])).reduce((sum, p) => sum + p.pssKiB, 0) / 1024;
  }
  await node.removePod(pod);
  return { start, pssMiB };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
  const runs = Number(values.runs);
  const log = (line: string) => process.stderr.write(`[bench:cri] ${line}\n`);
  const node = await CriNode.start();
  const starts: Record<string, PodStart[]> = { hako: [], runc: [] };
  const pss: number[] = [];
  try {
    for (let n = 0; n < runs; n++) {
      for (const handler of HANDLERS) {
        const { start, pssMiB } = await onePod(node, handler, n, handler === CRI_HAKO_HANDLER);
        starts[handler]?.push(start);
        if (pssMiB !== undefined) pss.push(pssMiB);
        log(
          `${handler} #${n + 1}: sandbox ${start.sandboxMs.toFixed(0)} ms, first container ${start.firstContainerMs.toFixed(0)} ms`,
        );
      }
    }
  } finally {
    const { leaked } = await node.stop();
    for (const l of leaked) log(`warning: ${l}`);
  }
  const summary = (handler: string) => {
    const s = starts[handler] ?? [];
    return {
      runs: s.length,
      sandboxMedianMs: round(median(s.map((x) => x.sandboxMs)), 0),
      firstContainerMedianMs: round(median(s.map((x) => x.firstContainerMs)), 0),
      firstContainerBestMs: round(min(s.map((x) => x.firstContainerMs)), 0),
    };
  };
  const hako = summary(CRI_HAKO_HANDLER);
  const runc = summary(CRI_RUNC_HANDLER);
  const result = {
    startedAt: new Date().toISOString(),
    runs,
    hako,
    runc,
    hakoOverRunc: round(ratio(hako.firstContainerMedianMs, runc.firstContainerMedianMs), 1),
    idlePodPssMiB: round(median(pss), 1),
  };
  const md = [
    "# CRI pod start: RunPodSandbox → first container running",
    "",
    `${runs} interleaved runs per handler, one private containerd 1.6 with its CRI plugin (${result.startedAt}).`,
    "",
    "| handler | RunPodSandbox (median) | + first container running (median) | best |",
    "| ------- | ---------------------- | ---------------------------------- | ---- |",
    ...(["hako", "runc"] as const).map((h) => {
      const s = result[h];
      return `| ${h} | ${s.sandboxMedianMs} ms | ${s.firstContainerMedianMs} ms | ${s.firstContainerBestMs} ms |`;
    }),
    "",
    `hako / runc: **${result.hakoOverRunc}×** · idle hako pod PSS (shim + QEMU + virtiofsd, median): **${result.idlePodPssMiB} MiB**`,
    "",
  ].join("\n");
  await writeFile(join(resultsDir, "cri-pod.json"), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(resultsDir, "cri-pod.md"), md);
  process.stdout.write(md);
  return 0;
}

process.exitCode = await main();
