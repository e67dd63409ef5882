// Unit specs for the shim binary's own command line: `-h` names every action the parser accepts, `serve` as
// internal, so that what a user reads matches what the binary does; a failed `start` prints one human line on
// stderr (containerd shows it) and leaves the JSON entry, stack included, in containerd's `log` fifo.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { ACTIONS, parseShimArgs } from "./args.js";
import { shimUsage } from "./shim-cli.js";

test("-h names every action the parser accepts, serve as internal and not for users", () => {
  const help = execFileSync(process.execPath, ["--import", "tsx", "src/shim/start-main.ts", "-h"], {
    encoding: "utf8",
  });
  assert.equal(help, `${shimUsage()}\n`);
  for (const action of ACTIONS) {
    assert.equal(parseShimArgs(["-id", "x", action], "/b").action, action);
    assert.match(help, new RegExp(`^  ${action} +\\S`, "m"), `help does not list ${action}`);
  }
  assert.match(help, /^ {2}serve +internal, not for users: `start` runs it as the pod's long-lived shim/m);
  assert.match(help, /^ {2}start +\(containerd\)/m);
});

const bundle = mkdtempSync(join(tmpdir(), "hako-shim-cli-spec-"));
after(() => rmSync(bundle, { recursive: true, force: true }));

test("a failed start is one human line on stderr, and its JSON entry goes to containerd's log fifo", async () => {
  execFileSync("mkfifo", [join(bundle, "log")]);
  // containerd holds the read end while start runs.
  const reader = openSync(join(bundle, "log"), constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const failed = await promisify(execFile)(
      process.execPath,
      [
        join(process.cwd(), "node_modules/tsx/dist/cli.mjs"),
        join(process.cwd(), "src/shim/start-main.ts"),
        "-id",
        "c1",
        "start",
      ],
      { cwd: bundle },
    ).catch((err: { code: number; stdout: string; stderr: string }) => err);
    assert.equal((failed as { code?: number }).code, 1);
    assert.equal(failed.stdout, "");
    assert.equal(
      failed.stderr,
      `containerd-shim-hako-v2: error: start failed: cannot read the OCI spec ${bundle}/config.json: ENOENT: no such file or directory, open '${bundle}/config.json'; id: c1\n`,
    );
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(reader, buf);
    const entries = buf
      .toString("utf8", 0, n)
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      entries.map((e) => [e.level, e.msg, e.id]),
      [["error", "start failed", "c1"]],
    );
    assert.match(
      String((entries[0]?.err as { stack?: string } | undefined)?.stack),
      /^HakoError: cannot read the OCI spec/,
    );
  } finally {
    closeSync(reader);
  }
});
