// Pod networking: TCP throughput container → test host and round-trip latency, hako against runc in the same
// network namespace set-up (a CNI bridge in a bench-made host namespace, one CNI pod namespace used by both), and the
// start latency that wiring the pod's network adds to `ctr run --rm … true`, booted and restored from the VM template
// (a clone gets the pod's NIC hot-plugged). Network safety: every address is in namespaces made here
// (test/helpers/cni-network.ts); they are deleted at the end.

import { CniNetwork, type Pod } from "../test/helpers/cni-network.js";
import { HAKO_RUNTIME, RUNC_RUNTIME, runCommand } from "../test/helpers/containerd.js";
import type { BenchContext, Section } from "./context.js";
import { notAvailable } from "./context.js";
import { median, medianPhases, ratio, round } from "./stats.js";

export interface PathFigures {
  /** Median MB/s of HTTP GETs of the payload from the container's httpd (on its /dev/shm, 64 MiB by default), by a
   * client in the host namespace. */
  throughputMBps: number | null;
  /** Median of ping's average round trip, host namespace → container, ms. */
  rttMs: number | null;
}

export interface NetworkResult {
  payloadMiB: number;
  hako: PathFigures;
  runc: PathFigures;
  ratios: { throughputHakoOverRunc: number | null; rttHakoOverRunc: number | null };
  start: {
    /** Median `ctr run --rm … true` with a CNI pod netns (wired), and with a fresh empty netns (no NIC). */
    withNetworkMs: number | null;
    withoutNetworkMs: number | null;
    addedMs: number | null;
    /** Medians from the shim's phases: wiring before the VM starts, and configuring the guest after CreateSandbox. */
    wireMs: number | null;
    guestConfigMs: number | null;
    /** Median `ctr run --rm … true` in the CNI pod netns with the template config; null without a template. */
    withNetworkTemplateMs: number | null;
    /** How many of those runs the shim logged as restored from the template ("qemu started", start = clone). */
    templateClones: number;
    templateRuns: number;
  };
}

/** ping -q's summary: "round-trip min/avg/max = 0.1/0.2/0.3 ms" (busybox) or "rtt min/avg/max/mdev = …". */
export function pingAverageMs(output: string): number | null {
  const m = /(?:round-trip|rtt) min\/avg\/max(?:\/mdev)? = [\d.]+\/([\d.]+)\//.exec(output);
  return m ? Number(m[1]) : null;
}

async function serveAndMeasure(ctx: BenchContext, net: CniNetwork, pod: Pod, runtime: string, id: string, mib: number) {
  // The payload sits on the container's /dev/shm (tmpfs): no file system path in the measure.
  const serve =
    `mkdir -p /dev/shm/w && head -c ${mib * 1024 * 1024} /dev/zero > /dev/shm/w/payload && ` +
    "echo ok > /dev/shm/w/ready && exec httpd -f -p 80 -h /dev/shm/w";
  const started = await ctx.containerd.runDetached(runtime, ctx.image, id, ["sh", "-c", serve], {
    extra: ["--with-ns", `network:${pod.path}`],
    timeoutMs: 180_000,
  });
  if (started.code !== 0) throw new Error(`${runtime}: ctr run -d failed: ${started.stderr.trim()}`);
  try {
    const get = (file: string) =>
      runCommand("ip", [
        "netns",
        "exec",
        net.host,
        "timeout",
        "120",
        "busybox",
        "wget",
        "-q",
        "-O",
        "/dev/null",
        `http://${pod.ip}/${file}`,
      ]);
    const deadline = Date.now() + 120_000;
    while ((await get("ready")).code !== 0) {
      if (Date.now() > deadline) throw new Error(`${runtime}: the container's httpd never answered`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const ping = await runCommand("ip", [
      "netns",
      "exec",
      net.host,
      "busybox",
      "ping",
      "-q",
      "-c",
      "20",
      "-i",
      "0.2",
      pod.ip,
    ]);
    const rtt = pingAverageMs(ping.stdout);
    // Each sample fetches the payload `fetches` times in one shell, so process start-up is small next to runc's
    // transfer time.
    const fetches = 8;
    const loop = `for i in $(seq ${fetches}); do busybox wget -q -O /dev/null http://${pod.ip}/payload || exit 1; done`;
    const speeds: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await runCommand("ip", ["netns", "exec", net.host, "timeout", "600", "sh", "-c", loop]);
      if (r.code === 0) speeds.push((fetches * mib * 1.048576) / (r.ms / 1000));
    }
    return { throughputMBps: round(median(speeds), 0), rttMs: rtt };
  } finally {
    await ctx.containerd.ctr(["task", "kill", "-s", "SIGKILL", id]);
    await ctx.containerd.ctr(["task", "delete", "-f", id], { timeoutMs: 60_000 });
    await ctx.containerd.ctr(["container", "rm", id]);
  }
}

export async function measureNetwork(ctx: BenchContext, payloadMiB = 32): Promise<Section<NetworkResult>> {
  const net = new CniNetwork("bench", "10.99.61.0/24");
  try {
    net.create();
    const pod = net.addPod("p");
    ctx.log("network: throughput and round trip, runc then hako, same pod namespace");
    const runc = await serveAndMeasure(ctx, net, pod, RUNC_RUNTIME, `${ctx.tag}-net-runc`, payloadMiB);
    const hako = await serveAndMeasure(ctx, net, pod, HAKO_RUNTIME, `${ctx.tag}-net-hako`, payloadMiB);

    ctx.log("network: start latency with and without a pod network");
    const withNet: number[] = [];
    const without: number[] = [];
    const withNetTemplate: number[] = [];
    let clones = 0;
    const phases: Record<string, number>[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      const id = `${ctx.tag}-netstart-${i}`;
      const a = await ctx.containerd.run(HAKO_RUNTIME, ctx.image, id, ["true"], {
        extra: ["--with-ns", `network:${pod.path}`],
        timeoutMs: 180_000,
      });
      if (a.code === 0) withNet.push(a.ms);
      const p = await ctx.containerd.sandboxPhases(id);
      if (p) phases.push(p);
      const b = await ctx.containerd.run(HAKO_RUNTIME, ctx.image, `${ctx.tag}-nonet-${i}`, ["true"], {
        timeoutMs: 180_000,
      });
      if (b.code === 0) without.push(b.ms);
      if (ctx.templateConfig) {
        const tid = `${ctx.tag}-nettpl-${i}`;
        const t = await ctx.containerd.run(HAKO_RUNTIME, ctx.image, tid, ["true"], {
          extra: ["--runtime-config-path", ctx.templateConfig, "--with-ns", `network:${pod.path}`],
          timeoutMs: 180_000,
        });
        if (t.code === 0) withNetTemplate.push(t.ms);
        const started = (await ctx.containerd.shimLog(tid)).find((e) => e.msg === "qemu started");
        if (started?.start === "clone") clones++;
      }
    }
    const ph = medianPhases(phases);
    const w = median(withNet);
    const wo = median(without);
    const guestConfig =
      ph?.["network-ready"] !== undefined && ph["sandbox-created"] !== undefined
        ? ph["network-ready"] - ph["sandbox-created"]
        : null;
    return {
      available: true,
      value: {
        payloadMiB,
        hako,
        runc,
        ratios: {
          throughputHakoOverRunc: round(ratio(hako.throughputMBps, runc.throughputMBps), 3),
          rttHakoOverRunc: round(ratio(hako.rttMs, runc.rttMs), 1),
        },
        start: {
          withNetworkMs: round(w, 0),
          withoutNetworkMs: round(wo, 0),
          addedMs: w === null || wo === null ? null : Math.round(w - wo),
          wireMs: ph?.["network-wired"] ?? null,
          guestConfigMs: guestConfig,
          withNetworkTemplateMs: ctx.templateConfig ? round(median(withNetTemplate), 0) : null,
          templateClones: clones,
          templateRuns: ctx.templateConfig ? ctx.runs : 0,
        },
      },
    };
  } catch (err) {
    return notAvailable((err as Error).message);
  } finally {
    net.destroy();
  }
}
