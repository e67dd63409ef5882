// Specs for process-identity.ts: HOME from the container's passwd as runc sets it, and stdio handed to the user.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { closeFd, makePipe } from "../../sys/fd.js";
import { giveStdioTo, passwdHome, withHome } from "./process-identity.js";

const root = mkdtempSync(join(tmpdir(), "hako-identity-"));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, "etc"));
writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33:web:/var/www:/bin/false\n");

test("passwdHome finds a uid's home, nothing for an unlisted uid", () => {
  assert.equal(passwdHome("root:x:0:0:root:/root:/bin/sh\n", 0), "/root");
  assert.equal(passwdHome("root:x:0:0:root:/root:/bin/sh\n", 1000), undefined);
  assert.equal(passwdHome("broken line\n::::::\n", 0), undefined);
});

test("HOME comes from the container's passwd, else /, and an explicit HOME is kept", () => {
  assert.deepEqual(withHome({ cwd: "/", user: { uid: 33, gid: 33 }, env: ["A=1"] }, root).env, [
    "A=1",
    "HOME=/var/www",
  ]);
  assert.deepEqual(withHome({ cwd: "/", user: { uid: 1000, gid: 1000 } }, root).env, ["HOME=/"]);
  assert.deepEqual(withHome({ cwd: "/", user: { uid: 0, gid: 0 } }, join(root, "none")).env, ["HOME=/"]);
  const fifoRoot = join(root, "fifo-image");
  mkdirSync(join(fifoRoot, "etc"), { recursive: true });
  execFileSync("mkfifo", [join(fifoRoot, "etc/passwd")]);
  assert.deepEqual(withHome({ cwd: "/", user: { uid: 0, gid: 0 } }, fifoRoot).env, ["HOME=/"], "a fifo is not read");
  const linkRoot = join(root, "link-image");
  mkdirSync(join(linkRoot, "etc"), { recursive: true });
  symlinkSync(join(root, "etc/passwd"), join(linkRoot, "etc/passwd"));
  assert.deepEqual(withHome({ cwd: "/", user: { uid: 33, gid: 33 } }, linkRoot).env, ["HOME=/"], "nothing outside");
  const own = { cwd: "/", user: { uid: 33, gid: 33 }, env: ["HOME=/mine"] };
  assert.equal(withHome(own, root), own);
});

test("stdio pipes are handed to a non-root user, their group kept", { skip: process.getuid?.() !== 0 }, () => {
  const [r, w] = makePipe();
  try {
    const gid = statSync(`/proc/self/fd/${w}`).gid;
    giveStdioTo([-1, w], 1000);
    const st = statSync(`/proc/self/fd/${w}`);
    assert.deepEqual([st.uid, st.gid], [1000, gid]);
    assert.equal(statSync(`/proc/self/fd/${r}`).uid, 1000, "both ends are one pipe");
  } finally {
    closeFd(r);
    closeFd(w);
  }
});
