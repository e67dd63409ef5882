// Unit specs for the guest's first scripts: valid busybox sh, and the behaviour the host relies on.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { guestAgentPath } from "./agent-bundle.js";
import { initrdInit, rootInit } from "./init-scripts.js";

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
    assert.match(s, /modprobe -a \$mods/);
  }
  assert.match(initrdInit("dax"), /-o dax,ro/);
  assert.match(initrdInit("full"), /mount -t tmpfs/);
  assert.match(ROOT_INIT, /exec \/usr\/bin\/node \/usr\/lib\/hako\/hako-agent\.cjs "\$@"/);
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
