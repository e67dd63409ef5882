// Soak through a real containerd 1.6 and ctr: 100 sandbox lifecycles of four kinds in turn (`--rm` with stdin from
// /dev/null, `--rm` with stdin from a pipe, `--rm -t`, detached + exec + kill + delete), then nothing of them may be
// left: no hako process, mount, tap, directory under /run/hako or containerd task. Each pod has its own shim, so a
// shim's own leaks are measured on one long-lived pod across 100 exec cycles: its open fd count and RSS are printed
// as a series and the fd count after the last cycle must equal the first's (± 2).
// About 4-5 s per sandbox under TCG: the whole file takes some 9-10 minutes. HAKO_SOAK_CYCLES and
// HAKO_SOAK_EXEC_CYCLES shorten it for a quick look.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { mountPointsUnder } from "../../src/runtime/host-mounts.js";
import { runDir } from "../../src/runtime/layout.js";
import {
  type Containerd,
  HAKO_RUNTIME,
  processesMatching,
  runCommand,
  startContainerdWithBusybox,
  stopAndAssertClean,
} from "../helpers/containerd.js";
import { eventually } from "../helpers/waiting.js";

const PREFIX = "soak-";
const CYCLES = Number(process.env.HAKO_SOAK_CYCLES ?? 100);
const EXEC_CYCLES = Number(process.env.HAKO_SOAK_EXEC_CYCLES ?? 100);
const PARALLEL = Number(process.env.HAKO_SOAK_PARALLEL ?? 2);

/** The open fds and resident memory (KiB) of a process, from /proc. */
function usage(pid: number): { fds: number; rssKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKiB: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) };
}

describe("soak: 100 sandbox lifecycles through containerd", { timeout: 15 * 60_000 }, () => {
  let containerd: Containerd;
  let image: string;
  let netBefore: string[];
  /** Every hako process (shim, QEMU, virtiofsd) of this file's sandboxes. */
  const ours = (id = PREFIX) =>
    new RegExp(`qemu-system-x86_64 .*-name sandbox-${id}|virtiofsd.*shared/${id}|containerd-shim-hako-v2 .* -id ${id}`);

  before(async () => {
    ({ containerd, image } = await startContainerdWithBusybox());
    netBefore = readdirSync("/sys/class/net");
  });

  after(() => stopAndAssertClean(containerd, ours(), `/${PREFIX}`));

  const runArgs = (mode: "--rm" | "-d", id: string, extra: string[] = []) => {
    containerd.track(id);
    return ["run", mode, "--snapshotter", containerd.snapshotter, "--runtime", HAKO_RUNTIME, ...extra, image, id];
  };
  const shimPid = (id: string): number | undefined => {
    const line = processesMatching(new RegExp(`containerd-shim-hako-v2 .*${containerd.address}.* -id ${id} `))[0];
    return line ? Number(line.split(" ")[0]) : undefined;
  };

  /** Detached task, one exec, SIGKILL, delete: the cycle a long-running service goes through. */
  const detachedCycle = async (id: string): Promise<void> => {
    const r = await containerd.ctrWithoutStdin([...runArgs("-d", id), "sleep", "1000"]);
    assert.equal(r.code, 0, `${id}: ${r.stderr}`);
    const e = await containerd.ctrWithoutStdin(["task", "exec", "--exec-id", "e", id, "sh", "-c", "echo exec-ok"]);
    assert.equal(e.stdout, "exec-ok\n", `${id}: ${e.stderr}`);
    assert.equal((await containerd.ctr(["task", "kill", "-s", "SIGKILL", id])).code, 0);
    assert.ok(
      await eventually(async () => (await containerd.taskStatus(id)) === "STOPPED", 20_000),
      `${id} not stopped`,
    );
    assert.equal((await containerd.ctr(["task", "delete", id])).code, 0);
    assert.equal((await containerd.ctr(["container", "rm", id])).code, 0);
  };

  const kinds: { name: string; cycle: (id: string) => Promise<void> }[] = [
    {
      name: "--rm, stdin from /dev/null",
      cycle: async (id) => {
        const r = await containerd.ctrWithoutStdin([...runArgs("--rm", id), "echo", "null-ok"]);
        assert.deepEqual([r.code, r.stdout], [0, "null-ok\n"], `${id}: ${r.stderr}`);
      },
    },
    {
      name: "--rm, stdin from a pipe",
      cycle: async (id) => {
        const r = await containerd.ctr([...runArgs("--rm", id), "cat"], { input: `pipe ${id}\n`, timeoutMs: 120_000 });
        assert.deepEqual([r.code, r.stdout], [0, `pipe ${id}\n`], `${id}: ${r.stderr}`);
      },
    },
    {
      name: "--rm -t",
      cycle: async (id) => {
        const ctr = [
          "ctr",
          "--address",
          containerd.address,
          "-n",
          containerd.namespace,
          ...runArgs("--rm", id, ["-t"]),
        ];
        const r = await runCommand("script", ["-qfec", `${ctr.join(" ")} sh -c 'tty; exit 4'`, "/dev/null"], {
          timeoutMs: 120_000,
        });
        assert.equal(r.code, 4, `${id}: ${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /\/dev\/pts\/\d+/);
      },
    },
    { name: "detached + exec + kill + delete", cycle: detachedCycle },
  ];

  test(`a long-lived pod's shim: fds and RSS across ${EXEC_CYCLES} exec cycles`, async () => {
    const id = `${PREFIX}pod`;
    const r = await containerd.ctrWithoutStdin([...runArgs("-d", id), "sleep", "100000"]);
    assert.equal(r.code, 0, r.stderr);
    const pid = shimPid(id);
    assert.ok(pid, "the pod's shim runs");
    const series: { cycle: number; fds: number; rssKiB: number }[] = [];
    for (let i = 1; i <= EXEC_CYCLES; i++) {
      // Alternately stdin from /dev/null and from a pipe: both kinds of fifo use.
      const args = ["task", "exec", "--exec-id", `e${i}`, id, "sh", "-c", `echo cycle-${i}`];
      const e = i % 2 ? await containerd.ctrWithoutStdin(args) : await containerd.ctr(args, { input: "x\n" });
      assert.equal(e.stdout, `cycle-${i}\n`, `exec ${i}: ${e.stderr}`);
      series.push({ cycle: i, ...usage(pid) });
    }
    const shown = series.filter((s) => s.cycle === 1 || s.cycle % 10 === 0);
    console.log(`shim ${pid} across exec cycles (cycle fds rssKiB):`);
    for (const s of shown) console.log(`  ${s.cycle} ${s.fds} ${s.rssKiB}`);
    const first = series[0];
    const last = series.at(-1);
    assert.ok(first && last);
    assert.ok(Math.abs(last.fds - first.fds) <= 2, `fds went from ${first.fds} to ${last.fds}`);
    // V8's heap breathes; a leak of a few KiB per exec would show as megabytes here.
    assert.ok(last.rssKiB <= first.rssKiB * 1.5, `RSS went from ${first.rssKiB} KiB to ${last.rssKiB} KiB`);
    assert.equal((await containerd.ctr(["task", "kill", "-s", "SIGKILL", id])).code, 0);
    assert.ok(await eventually(async () => (await containerd.taskStatus(id)) === "STOPPED", 20_000));
    assert.equal((await containerd.ctr(["task", "delete", id])).code, 0);
    assert.equal((await containerd.ctr(["container", "rm", id])).code, 0);
  });

  test(`${CYCLES} sandbox lifecycles, mixed, leave no process, mount, tap, state or task`, async () => {
    const t0 = Date.now();
    const leakedSeries: string[] = [];
    const msByKind = new Map<string, number[]>();
    const finished = new Set<string>();
    // Processes of sandboxes whose lifecycle has ended (a shim may still be finishing its exit for a moment).
    const leftOver = () =>
      processesMatching(ours(`${PREFIX}s`)).filter((line) =>
        [...finished].some((id) => [`sandbox-${id} `, `shared/${id} `, `-id ${id} `].some((p) => line.includes(p))),
      );
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (let i = next++; i < CYCLES; i = next++) {
        const kind = kinds[i % kinds.length];
        assert.ok(kind);
        const id = `${PREFIX}s${i}`;
        const c0 = Date.now();
        await kind.cycle(id);
        msByKind.set(kind.name, [...(msByKind.get(kind.name) ?? []), Date.now() - c0]);
        finished.add(id);
        done++;
        if (done % 10 === 0 || done === 1) {
          const left = leftOver().length;
          leakedSeries.push(`${done}:${left}`);
          console.log(
            `${done}/${CYCLES} cycles after ${Math.round((Date.now() - t0) / 1000)} s, hako processes left: ${left}`,
          );
        }
      }
    };
    // Two lifecycles at a time (the host's two cores), so that 100 boots fit in CI's time.
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    console.log(`hako processes left after cycle n: ${leakedSeries.join(" ")}`);
    for (const [name, ms] of msByKind) {
      console.log(`${name}: ${ms.length} cycles, mean ${Math.round(ms.reduce((a, b) => a + b, 0) / ms.length)} ms`);
    }
    const gone = await eventually(() => processesMatching(ours(`${PREFIX}s`)).length === 0, 15_000);
    assert.equal(leftOver().length, 0);
    assert.ok(gone, `left: ${processesMatching(ours(`${PREFIX}s`)).join("\n")}`);
    assert.deepEqual(
      (await mountPointsUnder(runDir())).filter((m) => m.includes(`/${PREFIX}`)),
      [],
      "mounts left",
    );
    const dirs = existsSync(runDir()) ? readdirSync(runDir()).filter((d) => d.startsWith(PREFIX)) : [];
    assert.deepEqual(dirs, [], `directories left under ${runDir()}`);
    const tasks = (await containerd.ctr(["task", "ls", "-q"])).stdout.trim();
    assert.equal(tasks, "", "containerd tasks left");
    const newNet = readdirSync("/sys/class/net").filter((n) => !netBefore.includes(n) && /tap/.test(n));
    assert.deepEqual(newNet, [], "tap devices left");
  });
});
