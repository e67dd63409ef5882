// End-to-end tests of `hako image build`: hako's own kernel (built from linux-source-6.1, cached) or Debian's kernel
// package, real mkfs, real QEMU (TCG). Two builds must give byte-identical assets, the manifest must describe them,
// --if-changed must skip an unchanged image, and the built kernel + initrd + DAX root must boot to a test /sbin/init
// that runs node.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);
const repo = fileURLToPath(new URL("../..", import.meta.url));
const ASSETS = ["vmlinux", "hako-initrd.img", "hako-rootfs.img"] as const;

interface Manifest {
  inputs: {
    kernel: { kind: "hako" | "package"; package?: string; source?: string; version: string; fragmentSha256?: string };
    node: { version: string };
    modules: string[];
    agent: { sha256: string };
    extraFiles: { dest: string; sha256: string }[];
  };
  kernelRelease: string;
  modules: string[];
  assets: Record<string, { sha256: string; size: number }>;
}

interface CliResult {
  code: number;
  stderr: string;
}

/** Runs the real CLI entry (through tsx, so no prior `npm run build` is needed). */
async function hako(args: string[]): Promise<CliResult> {
  try {
    const { stderr } = await execFileAsync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: repo,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stderr: e.stderr ?? String(err) };
  }
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;

/** Boots the assets in QEMU TCG with the DAX root; resolves with the console log. QEMU is always killed. */
async function boot(
  dir: string,
  timeoutMs: number,
  opts: { initrdOnly?: boolean; append?: string } = {},
): Promise<{ log: string; wallMs: number }> {
  const log = join(dir, "console.log");
  const rootfs = join(dir, "hako-rootfs.img");
  const append = `console=ttyS0 quiet panic=1 reboot=k tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 noreplace-smp cryptomgr.notests ${opts.append ?? ""}`;
  const root = opts.initrdOnly
    ? ["-initrd", join(dir, "hako-initrd-full.img")]
    : [
        ...["-initrd", join(dir, "hako-initrd.img")],
        "-object",
        `memory-backend-file,id=pm0,mem-path=${rootfs},size=${statSync(rootfs).size},share=off,readonly=on`,
        ...["-device", "virtio-pmem-pci,memdev=pm0"],
      ];
  const args = [
    ...["-machine", "q35,accel=tcg", "-m", "512,slots=2,maxmem=4G", "-smp", "1"],
    ...["-kernel", join(dir, "vmlinux"), ...root, "-append", append.trim()],
    ...["-nographic", "-nodefaults", "-no-user-config", "-no-reboot", "-serial", `file:${log}`],
  ];
  const started = Date.now();
  let qemu: ChildProcess | undefined;
  try {
    qemu = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    qemu.stderr?.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const proc = qemu;
    const exit = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`qemu still running after ${timeoutMs} ms`)), timeoutMs);
      proc.on("error", reject);
      proc.on("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    assert.equal(exit, 0, `qemu exited with ${exit}: ${stderr}`);
    return { log: readFileSync(log, "utf8"), wallMs: Date.now() - started };
  } finally {
    if (qemu && qemu.exitCode === null && qemu.signalCode === null) qemu.kill("SIGKILL");
  }
}

describe("hako image build", { timeout: 600_000 }, () => {
  let work: string;
  let agent: string;
  let init: string;
  let dirA: string;
  let dirB: string;
  let common: string[];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "hako-image-e2e-"));
    agent = join(work, "agent.mjs");
    writeFileSync(agent, 'console.log("test agent");\n');
    init = join(work, "init");
    // The test init: report the kernel, whether the root is the DAX mount, and that node runs; then power off.
    writeFileSync(
      init,
      [
        "#!/bin/sh",
        "mount -t proc proc /proc",
        'echo "HAKO-TEST-INIT uptime=$(cut -d" " -f1 /proc/uptime)"',
        'echo "HAKO-TEST-KERNEL $(uname -r)"',
        'echo "HAKO-TEST-ROOT $(grep " / " /proc/mounts)"',
        'echo "HAKO-TEST-CRUN $(crun --version | head -n 1)"',
        // From the agent's directory, so that `import "koffi"` resolves the copy the image carries.
        "cd /usr/lib/hako",
        `/usr/bin/node --input-type=module -e 'const up = (await import("node:fs")).readFileSync("/proc/uptime", "utf8").split(" ")[0]; console.log("HAKO-TEST-NODE " + process.version + " uptime=" + up); const k = (await import("koffi")).default; console.log("HAKO-TEST-KOFFI " + k.version + " int=" + k.sizeof("int"))'`,
        "poweroff -f",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    dirA = join(work, "a");
    dirB = join(work, "b");
    common = ["image", "build", "--agent", agent, "--extra-file", `${init}:/sbin/init`];
    const a = await hako([...common, "--output", dirA]);
    assert.equal(a.code, 0, a.stderr);
    const b = await hako([...common, "--output", dirB]);
    assert.equal(b.code, 0, b.stderr);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("two builds of the same inputs give byte-identical assets", () => {
    for (const name of ASSETS) {
      assert.equal(sha256(join(dirA, name)), sha256(join(dirB, name)), `${name} differs between two builds`);
    }
    assert.deepEqual(manifestOf(dirA), manifestOf(dirB));
  });

  test("the manifest records the inputs and the hash and size of every asset", () => {
    const m = manifestOf(dirA);
    for (const name of ASSETS) {
      const path = join(dirA, name);
      assert.deepEqual(m.assets[name], { sha256: sha256(path), size: statSync(path).size }, name);
    }
    assert.equal(m.inputs.kernel.kind, "hako");
    assert.equal(m.inputs.kernel.source, "linux-source-6.1");
    assert.equal(m.inputs.kernel.fragmentSha256, sha256(join(repo, "src/image/kernel/hako.config")));
    assert.match(m.kernelRelease, /^6\.1\.\d+$/);
    assert.equal(m.inputs.node.version, process.version);
    assert.equal(m.inputs.agent.sha256, sha256(agent));
    assert.deepEqual(
      m.inputs.extraFiles.map((x) => [x.dest, x.sha256]),
      [["/sbin/init", sha256(init)]],
    );
    // Everything is built in: the initrd loads no modules.
    assert.deepEqual(m.modules, []);
    assert.deepEqual(m.inputs.modules, []);
    // The rootfs size suits a virtio-pmem mapping.
    assert.equal(statSync(join(dirA, "hako-rootfs.img")).size % (2 * 1024 * 1024), 0);
    const vmlinux = readFileSync(join(dirA, "vmlinux")).subarray(0, 4);
    assert.deepEqual([...vmlinux], [0x7f, 0x45, 0x4c, 0x46]);
  });

  test("--if-changed leaves an up-to-date image alone and rebuilds when an input changes", async () => {
    const before = statSync(join(dirB, "hako-rootfs.img")).mtimeMs;
    const skip = await hako([...common, "--output", dirB, "--if-changed"]);
    assert.equal(skip.code, 0, skip.stderr);
    assert.match(skip.stderr, /up to date/);
    assert.equal(statSync(join(dirB, "hako-rootfs.img")).mtimeMs, before);

    const agent2 = join(work, "agent2.mjs");
    writeFileSync(agent2, 'console.log("another test agent");\n');
    const rebuilt = await hako([
      ...common.slice(0, 2),
      "--agent",
      agent2,
      "--extra-file",
      `${init}:/sbin/init`,
      "--output",
      dirB,
      "--if-changed",
    ]);
    assert.equal(rebuilt.code, 0, rebuilt.stderr);
    assert.match(rebuilt.stderr, /inputs changed/);
    assert.equal(manifestOf(dirB).inputs.agent.sha256, sha256(agent2));
    assert.notEqual(sha256(join(dirB, "hako-rootfs.img")), manifestOf(dirA).assets["hako-rootfs.img"]?.sha256);
  });

  test("a missing agent bundle fails with a message naming the file", async () => {
    const missing = join(work, "no-such-agent.mjs");
    const r = await hako(["image", "build", "--agent", missing, "--output", join(work, "c")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`agent bundle ${missing} is missing`));
  });

  test("the built kernel, initrd and DAX root boot to /sbin/init, which runs node", async (t) => {
    const m = manifestOf(dirA);
    const { log, wallMs } = await boot(dirA, 180_000);
    assert.match(log, new RegExp(`HAKO-TEST-KERNEL ${m.kernelRelease.replaceAll(".", "\\.")}`));
    assert.match(log, new RegExp(`HAKO-TEST-NODE ${process.version.replaceAll(".", "\\.")} `));
    assert.match(log, /HAKO-TEST-ROOT \/dev\/pmem0 \/ ext4 ro\S*dax/);
    assert.match(log, /HAKO-TEST-CRUN crun version \d/);
    assert.match(log, /HAKO-TEST-KOFFI \d+\.\d+\.\d+ int=4/);
    assert.doesNotMatch(log, /hako-initrd: error/);
    const initAt = /HAKO-TEST-INIT uptime=([\d.]+)/.exec(log)?.[1];
    const nodeAt = /HAKO-TEST-NODE \S+ uptime=([\d.]+)/.exec(log)?.[1];
    t.diagnostic(`guest uptime at /sbin/init ${initAt} s, node running ${nodeAt} s, qemu wall ${wallMs} ms`);
  });

  test("--kernel-package keeps Debian's kernel: its modules go into the initrd and it boots the same root", async (t) => {
    const dirDeb = join(work, "debian");
    const r = await hako([...common, "--output", dirDeb, "--kernel-package", "linux-image-cloud-amd64"]);
    assert.equal(r.code, 0, r.stderr);
    const m = manifestOf(dirDeb);
    assert.equal(m.inputs.kernel.kind, "package");
    assert.match(m.inputs.kernel.package ?? "", /^linux-image-\d.*-cloud-amd64$/);
    assert.ok(m.kernelRelease.endsWith("-cloud-amd64"));
    const names = m.modules.map((p) => p.replace(/^.*\//, "").replace(/\.ko$/, ""));
    for (const needed of ["virtio_pci", "virtio_console", "virtio_pmem", "nd_pmem", "vsock", "virtiofs", "overlay"]) {
      assert.ok(names.includes(needed), `module ${needed} missing from ${names.join(",")}`);
    }
    // Dependencies come first.
    assert.ok(names.indexOf("virtio_ring") < names.indexOf("virtio_pci"));
    assert.ok(names.indexOf("libnvdimm") < names.indexOf("nd_pmem"));
    assert.ok(names.indexOf("vsock") < names.indexOf("vmw_vsock_virtio_transport"));
    const { log, wallMs } = await boot(dirDeb, 180_000);
    assert.match(log, new RegExp(`HAKO-TEST-KERNEL ${m.kernelRelease.replaceAll(".", "\\.")}`));
    assert.match(log, /HAKO-TEST-ROOT \/dev\/pmem0 \/ ext4 ro\S*dax/);
    const nodeAt = /HAKO-TEST-NODE \S+ uptime=([\d.]+)/.exec(log)?.[1];
    t.diagnostic(`Debian's kernel: node running ${nodeAt} s guest uptime, qemu wall ${wallMs} ms`);
    // Switching back to hako's kernel with --if-changed says why it rebuilds.
    const back = await hako([...common, "--output", dirDeb, "--if-changed"]);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stderr, /the kernel changed \(Debian's linux-image-\S+ \S+ -> hako's own \(linux-source-6\.1 /);
  });

  test("--modules without --kernel-package is refused: hako's kernel carries no modules", async () => {
    const r = await hako([...common, "--output", join(work, "m"), "--modules", "+foo"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--modules needs --kernel-package/);
  });

  test("an initrd failure is printed on the console and powers the VM off instead of hanging", async () => {
    const { log } = await boot(dirA, 120_000, { append: "hako.init=/no/such/init" });
    assert.match(log, /hako-initrd: error: \/no\/such\/init is missing from the new root filesystem/);
    assert.match(log, /hako-initrd: powering off/);
    assert.doesNotMatch(log, /HAKO-TEST-INIT/);
  });

  test("--initrd-only adds an initrd holding the whole root, which boots onto a tmpfs root", async (t) => {
    const dirFull = join(work, "full");
    const r = await hako([...common, "--output", dirFull, "--initrd-only"]);
    assert.equal(r.code, 0, r.stderr);
    const m = manifestOf(dirFull);
    const full = join(dirFull, "hako-initrd-full.img");
    assert.deepEqual(m.assets["hako-initrd-full.img"], { sha256: sha256(full), size: statSync(full).size });
    // The other assets are the same bytes as without the option.
    for (const name of ASSETS) assert.equal(m.assets[name]?.sha256, manifestOf(dirA).assets[name]?.sha256, name);
    const { log, wallMs } = await boot(dirFull, 240_000, { initrdOnly: true });
    assert.match(log, new RegExp(`HAKO-TEST-NODE ${process.version.replaceAll(".", "\\.")} `));
    // A tmpfs root (not the initramfs) is what lets crun pivot_root.
    assert.match(log, /HAKO-TEST-ROOT tmpfs \/ tmpfs /);
    const initAt = /HAKO-TEST-INIT uptime=([\d.]+)/.exec(log)?.[1];
    const nodeAt = /HAKO-TEST-NODE \S+ uptime=([\d.]+)/.exec(log)?.[1];
    t.diagnostic(
      `initrd-only: guest uptime at /sbin/init ${initAt} s, node running ${nodeAt} s, qemu wall ${wallMs} ms`,
    );
  });
});
