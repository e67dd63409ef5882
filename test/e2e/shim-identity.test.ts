// A process's identity under hako compared with runc, case by case, through one containerd 1.6 and ctr: user, groups,
// umask, rlimits, no_new_privileges, capabilities, HOME, reopenable stdio and a terminal whatever the user; and what
// runtime.disable_guest_seccomp does (as Kata's). What a VM cannot match (the guest kernel's RLIMIT_NPROC default,
// the shim's oom_score_adj inherited under runc, the host's hostname) is left out of the comparison.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  type Containerd,
  HAKO_RUNTIME,
  RUNC_RUNTIME,
  runCommand,
  startContainerdWithBusybox,
  stopAndAssertClean,
} from "../helpers/containerd.js";

const PREFIX = "ident-";
const PROBE = [
  "id",
  "umask",
  "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Groups)' /proc/self/status",
  "ulimit -n",
  "ulimit -c",
  "pwd",
  'echo "HOME=$HOME"',
  "echo reopened > /dev/stdout",
].join("; ");

describe("process identity: hako compared with runc", () => {
  let containerd: Containerd;
  let image: string;
  const ids = { runc: `${PREFIX}runc`, hako: `${PREFIX}hako` };

  before(async () => {
    ({ containerd, image } = await startContainerdWithBusybox());
    for (const [runtime, id] of [
      [RUNC_RUNTIME, ids.runc],
      [HAKO_RUNTIME, ids.hako],
    ] as const) {
      const r = await containerd.runDetached(runtime, image, id, ["sleep", "1000"], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
    }
  });

  after(() =>
    stopAndAssertClean(
      containerd,
      new RegExp(`qemu-system-x86_64 .*-name sandbox-${PREFIX}|containerd-shim-hako-v2 .*${containerd.address}`),
      `/${PREFIX}`,
    ),
  );

  let seq = 0;
  const exec = async (id: string, flags: string[], script: string): Promise<string> => {
    const r = await containerd.ctr(["task", "exec", ...flags, "--exec-id", `x${++seq}`, id, "sh", "-c", script], {
      timeoutMs: 30_000,
    });
    return `exit ${r.code}\n${r.stdout}${r.stderr}`;
  };

  for (const [name, flags] of [
    ["the container's own user", []],
    ["--user 1000:1000 (no passwd entry)", ["--user", "1000:1000"]],
    ["--user 1000 (group from the spec)", ["--user", "1000"]],
    ["--user 65534:65534 (nobody, in passwd)", ["--user", "65534:65534"]],
    ["--cwd /tmp", ["--cwd", "/tmp"]],
  ] as const) {
    test(`exec with ${name}: same identity as runc`, async () => {
      assert.equal(await exec(ids.hako, [...flags], PROBE), await exec(ids.runc, [...flags], PROBE));
    });
  }

  test("init with capabilities added and dropped and new privileges allowed: same identity as runc", async () => {
    const out: string[] = [];
    for (const runtime of [RUNC_RUNTIME, HAKO_RUNTIME]) {
      const name = runtime === HAKO_RUNTIME ? "hako" : "runc";
      // ctr 1.6 can lose the end of a short-lived container's output (its copy of the stdout fifo races the exit):
      // runc's output is only the reference, so a truncated one is taken again; hako's is taken once.
      for (let attempt = 1; ; attempt++) {
        const r = await containerd.run(runtime, image, `${PREFIX}init-${name}${attempt}`, ["sh", "-c", PROBE], {
          extra: ["--cap-add", "CAP_SYS_ADMIN", "--cap-drop", "CAP_CHOWN", "--allow-new-privs"],
          timeoutMs: 120_000,
        });
        const text = `exit ${r.code}\n${r.stdout}${r.stderr}`;
        if (runtime === HAKO_RUNTIME || text.endsWith("reopened\n") || attempt === 3) {
          out.push(text);
          break;
        }
      }
    }
    assert.equal(out[1], out[0]);
    assert.match(out[0] ?? "", /^exit 0\nuid=0.*\nCapEff:\t00000000a82425fa\n.*NoNewPrivs:\t0\n/s);
  });

  test("a terminal is the process's own whatever its user: owner, and writable through its path", async () => {
    // The owner's name and the device number differ between two runs; the owner's uid and group do not.
    // crun 1.8.1 (Debian 12's) gives an exec's terminal to the container's user, not the exec's (fixed upstream
    // after 1.8.1, containers/crun#1159), so hako hands it to the exec's user when crun passes the master, which can
    // be a moment after the process started (docs/shim.md): the script first waits, up to 1 s, for that hand-over.
    const handedOver =
      'for i in 1 2 3 4 5 6 7 8 9 10; do [ "$(stat -c %u $(tty))" = "$(id -u)" ] && break; sleep 0.1; done';
    const script = `${handedOver}; stat -c "%A %u %g" $(tty); id -u; echo hello > $(tty) && echo writable`;
    const out: string[] = [];
    for (const id of [ids.runc, ids.hako]) {
      const ctr = ["ctr", "--address", containerd.address, "-n", containerd.namespace, "task", "exec", "-t"];
      const cmd = `${ctr.join(" ")} --user 1000:1000 --exec-id t${++seq} ${id} sh -c '${script}'`;
      const r = await runCommand("script", ["-qfec", cmd, "/dev/null"], { timeoutMs: 30_000 });
      // ctr under runc may add a resize warning once the process is gone; only the process's lines count.
      out.push(
        r.stdout
          .split(/\r?\n/)
          .map((l) => l.replace(/^[^\w]+/, "").trimEnd())
          .filter((l) => /^(crw|\d+$|hello|writable)/.test(l))
          .join("\n"),
      );
    }
    assert.equal(out[1], out[0]);
    assert.equal(out[1], "crw--w---- 1000 5\n1000\nhello\nwritable");
  });

  test("disable_guest_seccomp: true (the default) runs without the profile, false applies it as runc does", async () => {
    const seccomp = "grep -E '^Seccomp:' /proc/self/status";
    const base = process.env.HAKO_CONFIG ? readFileSync(process.env.HAKO_CONFIG, "utf8") : "";
    const off = join(containerd.dir, "seccomp-on.toml");
    writeFileSync(off, `${base}\n[runtime]\ndisable_guest_seccomp = false\n`);
    const runOne = async (runtime: string, id: string, extra: string[]) => {
      const r = await containerd.run(runtime, image, id, ["sh", "-c", seccomp], {
        extra: ["--seccomp", ...extra],
        timeoutMs: 120_000,
      });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const runc = await runOne(RUNC_RUNTIME, `${PREFIX}sc-runc`, []);
    assert.equal(runc, "Seccomp:\t2");
    assert.equal(await runOne(HAKO_RUNTIME, `${PREFIX}sc-default`, []), "Seccomp:\t0");
    assert.equal(await runOne(HAKO_RUNTIME, `${PREFIX}sc-on`, ["--runtime-config-path", off]), runc);
  });
});
