// Unit specs for the guest's first scripts: valid busybox sh, and the behaviour the host relies on.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { guestAgentPath } from "./agent-bundle.js";
import { initrdInit, rootInit, SNAPSHOT_DISK } from "./init-scripts.js";

const ROOT_INIT = rootInit("/usr/lib/hako/hako-agent.cjs");

for (const [name, script] of [
  ["dax initrd", initrdInit("dax")],
  ["full initrd", initrdInit("full")],
  ["root init", ROOT_INIT],
] as const) {
  test(`${name} script parses with busybox sh`, () => {
    execFileSync("busybox", ["sh", "-n"], { input: script });
    assert.match(script, /^#!\/bin\/sh\n/);
  });
}

test("the initrd powers off on failure and switch_roots into the chosen init", () => {
  for (const mode of ["dax", "full"] as const) {
    const s = initrdInit(mode);
    assert.match(s, /poweroff -f/);
    assert.match(s, /exec switch_root \/newroot "\$init"/);
    // The kernel filesystems go with the root (the agent reads /proc/self/mounts from the start), none unmounted.
    assert.match(s, /for fs in \/dev \/proc \/sys; do\n {2}mount --move "\$fs" "\/newroot\$fs"/);
    assert.doesNotMatch(s, /umount/);
    assert.match(s, /modprobe -a \$mods/);
  }
  assert.match(initrdInit("dax"), /-o dax,ro/);
  assert.match(initrdInit("full"), /mount -t tmpfs/);
  assert.match(ROOT_INIT, /exec \/usr\/bin\/node \$flags \/usr\/lib\/hako\/hako-agent\.cjs "\$@"/);
});

test("hako.jitless=1 on the kernel command line makes the root init start node with --jitless", () => {
  const script = initrdInit("dax");
  const rootInit = ROOT_INIT.replaceAll("/usr/bin/node", "echo");
  // The initrd's parsing loop, fed a command line, then the root init with the environment it exports.
  const parse = (cmdline: string) => {
    const loop = /for arg in .*?\ndone\n/s.exec(script)?.[0] ?? "";
    const sh = `${loop.replace("$(cat /proc/cmdline)", cmdline)}\n${rootInit.replace(/^#!.*\n/, "")}`;
    return execFileSync("busybox", ["sh", "-c", sh], { encoding: "utf8", env: {} }).trim();
  };
  assert.equal(parse("quiet hako.jitless=1"), "--jitless --no-expose-wasm /usr/lib/hako/hako-agent.cjs");
  assert.equal(parse("quiet hako.jitless=1 hako.jitless=0"), "/usr/lib/hako/hako-agent.cjs");
  assert.equal(parse("quiet"), "/usr/lib/hako/hako-agent.cjs");
});

test("the agent keeps an ES module's extension in the guest; anything else is loaded as CommonJS", () => {
  assert.equal(guestAgentPath("/x/dist/hako-agent.cjs"), "usr/lib/hako/hako-agent.cjs");
  assert.equal(guestAgentPath("/tmp/e2e/hako-agent.mjs"), "usr/lib/hako/hako-agent.mjs");
  assert.equal(guestAgentPath("/tmp/agent.js"), "usr/lib/hako/hako-agent.cjs");
});

test("the initrd hands every module of /etc/hako/modules to one modprobe, by name, in order", () => {
  const script = initrdInit("dax");
  const block = /mods=\n.*?modprobe -a \$mods.*?\n/s.exec(script)?.[0] ?? "";
  const dir = mkdtempSync(join(tmpdir(), "hako-initrd-spec-"));
  try {
    const list = join(dir, "modules");
    writeFileSync(
      list,
      "/lib/modules/6.1.0/kernel/drivers/virtio/virtio_ring.ko\n\n/lib/modules/6.1.0/kernel/fs/fuse/fuse.ko\n",
    );
    const sh = `modprobe() { echo "$@"; }\nfail() { echo "fail: $*"; }\n${block.replaceAll("/etc/hako/modules", list)}`;
    assert.equal(execFileSync("busybox", ["sh", "-c", sh], { encoding: "utf8" }).trim(), "-a virtio_ring fuse");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs the root init with node replaced by echo and the snapshot directory moved to `dir`; returns its output. */
function runRootInit(dir: string, env: Record<string, string>): string {
  const script = ROOT_INIT.replaceAll("/usr/bin/node", "echo node").replaceAll("/usr/lib/hako/snapshot", dir);
  return execFileSync("busybox", ["sh", "-c", script.replace(/^#!.*\n/, "")], { encoding: "utf8", env }).trim();
}

test("the root init starts node from the snapshot made under this boot's CPU line, else warns and starts the bundle", () => {
  const dir = mkdtempSync(join(tmpdir(), "hako-snapshot-spec-"));
  try {
    const agent = "/usr/lib/hako/hako-agent.cjs";
    const cpu = "vendor_id : X; flags : fpu sse4_2; jitless=1";
    // No snapshot (an image built without one): the bundle, no warning.
    assert.equal(runRootInit(dir, { HAKO_CPU: cpu }), `node ${agent}`);
    writeFileSync(join(dir, "agent.blob"), "blob");
    writeFileSync(join(dir, "agent.cpu"), `${cpu}\n`);
    assert.equal(
      runRootInit(dir, { HAKO_CPU: cpu, HAKO_JITLESS: "1" }),
      `node --jitless --no-expose-wasm --snapshot-blob ${dir}/agent.blob`,
    );
    // Another CPU (a KVM host's -cpu host, another QEMU) or other node flags: the bundle, with a warning.
    for (const other of [{ HAKO_CPU: "vendor_id : X; flags : fpu; jitless=1" }, {}]) {
      const lines = runRootInit(dir, other).split("\n");
      assert.match(lines[0] ?? "", /^hako-init: warning: the agent's startup snapshot was made for another CPU/);
      assert.equal(lines[1], `node ${agent}`);
    }
    // hako.snapshot=0 on the kernel command line: the bundle, quietly.
    assert.equal(runRootInit(dir, { HAKO_CPU: cpu, HAKO_SNAPSHOT: "0" }), `node ${agent}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the snapshot build boot makes the blob, probes it with a fresh node, and writes CPU line and blob as tar to the disk", () => {
  const build = /if \[ "\$HAKO_SNAPSHOT" = build \]; then\n(.*?)\nfi\n/s.exec(ROOT_INIT)?.[1] ?? "";
  assert.match(build, /printf '%s\\n' "\$HAKO_CPU" >cpu &&/);
  assert.match(build, /node \$flags --snapshot-blob agent\.blob --build-snapshot \/usr\/lib\/hako\/hako-agent\.cjs &&/);
  assert.match(
    build,
    /HAKO_SNAPSHOT_PROBE=1 \/usr\/bin\/node \$flags --snapshot-blob agent\.blob \| grep -qx "[^"]+" &&/,
  );
  assert.ok(build.includes(`tar -cf ${SNAPSHOT_DISK} cpu agent.blob &&`));
  assert.match(build, /poweroff -f/);
});

test("the initrd's CPU line holds the first CPU's vendor, family, model and flags and node's --jitless, nothing else", () => {
  const script = initrdInit("dax");
  const fn = /cpu_id\(\) \{\n.*?\n\}\n/s.exec(script)?.[0] ?? "";
  const dir = mkdtempSync(join(tmpdir(), "hako-cpuid-spec-"));
  try {
    const cpu = (flags: string, name = "AMD EPYC", mhz = "2000.000") =>
      `processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: ${name}\ncpu MHz\t\t: ${mhz}\nflags\t\t: ${flags}\n\n`;
    const line = (cpuinfo: string, jitless?: string) => {
      const path = join(dir, "cpuinfo");
      writeFileSync(path, cpuinfo);
      const sh = `${fn.replace("/proc/cpuinfo", path)}cpu_id\necho "$HAKO_CPU"`;
      return execFileSync("busybox", ["sh", "-c", sh], {
        encoding: "utf8",
        env: jitless ? { HAKO_JITLESS: jitless } : {},
      }).trim();
    };
    const base = line(cpu("fpu sse4_2 avx2"));
    assert.equal(base, "vendor_id : AuthenticAMD; cpu family : 25; model : 1; flags : fpu sse4_2 avx2; jitless=0");
    assert.equal(line(cpu("fpu sse4_2 avx2", "Other name", "3000.1")), base, "model name or clock changed it");
    assert.equal(line(cpu("fpu sse4_2 avx2") + cpu("fpu")), base, "a second CPU changed it");
    assert.notEqual(line(cpu("fpu sse4_2")), base);
    assert.notEqual(line(cpu("fpu sse4_2 avx2").replace("model\t\t: 1", "model\t\t: 2")), base);
    assert.equal(line(cpu("fpu sse4_2 avx2"), "1"), base.replace("jitless=0", "jitless=1"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("hako.snapshot= on the kernel command line is exported to the root's init", () => {
  const loop = /for arg in .*?\ndone\n/s.exec(initrdInit("dax"))?.[0] ?? "";
  const value = (cmdline: string) =>
    execFileSync("busybox", ["sh", "-c", `${loop.replace("$(cat /proc/cmdline)", cmdline)}echo "$HAKO_SNAPSHOT"`], {
      encoding: "utf8",
      env: {},
    }).trim();
  assert.equal(value("quiet hako.snapshot=build"), "build");
  assert.equal(value("quiet hako.snapshot=0"), "0");
  assert.equal(value("quiet"), "");
});
