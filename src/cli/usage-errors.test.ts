// Unit specs for usage-errors.ts: a command line hako cannot parse is one `hako: error: …` line saying where the
// help is, with exit status 2, at the top and in nested verbs alike; --version prints the version. The command line
// runs for real (`node --import tsx src/cli/main.ts`), nothing else is started.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { USAGE_EXIT, usageErrorLine } from "./usage-errors.js";

test("commander's error text becomes one hako line with its suggestion and where the help is", () => {
  assert.equal(
    usageErrorLine("error: unknown option '--bogus'\n", "hako"),
    "hako: error: unknown option '--bogus' (see hako --help)\n",
  );
  assert.equal(
    usageErrorLine("error: unknown command 'bogus'\n(Did you mean logs?)\n", "hako"),
    "hako: error: unknown command 'bogus' (did you mean logs?; see hako --help)\n",
  );
  assert.equal(
    usageErrorLine("error: missing required argument 'sandbox'\n", "hako logs"),
    "hako: error: missing required argument 'sandbox' (see hako logs --help)\n",
  );
});

/** `hako ARGS` from the sources; JSON logs off, as a person's terminal has them. */
function hako(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.HAKO_LOG_FORMAT;
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { env, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("hako's own command line: usage errors exit 2 with hako's prefix, at every depth; --version and -V", () => {
  const refused: [string[], string][] = [
    [["--bogus"], "hako: error: unknown option '--bogus' (see hako --help)\n"],
    [["factory", "init", "--bogus"], "hako: error: unknown option '--bogus' (see hako factory init --help)\n"],
    [["factory", "--bogus"], "hako: error: unknown option '--bogus' (see hako factory --help)\n"],
    [["logs"], "hako: error: missing required argument 'sandbox' (see hako logs --help)\n"],
  ];
  for (const [args, stderr] of refused) {
    assert.deepEqual(hako(...args), { status: USAGE_EXIT, stdout: "", stderr }, args.join(" "));
  }
  const unknownVerb = hako("bogus");
  assert.equal(unknownVerb.status, USAGE_EXIT);
  assert.match(unknownVerb.stderr, /^hako: error: unknown command 'bogus' \(.*see hako --help\)\n$/);
  for (const flag of ["--version", "-V"]) {
    // "dev" from the sources; the bundle (bin/hako) has package.json's version.
    assert.deepEqual(hako(flag), { status: 0, stdout: "dev\n", stderr: "" }, flag);
  }
});
