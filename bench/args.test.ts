// Unit specs for bench/args.ts: the benchmark's arguments, and the one-line error each bad one gets.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBenchArgs, parsePodCounts } from "./args.js";

test("no arguments give the defaults; every option is read", () => {
  assert.deepEqual(parseBenchArgs([]), {
    runs: 5,
    concurrency: 5,
    fileMiB: 128,
    skip: new Set(),
    podCounts: [1, 3, 10],
    help: false,
  });
  const args = parseBenchArgs([
    "--runs",
    "10",
    "--concurrency=3",
    "--file-mib",
    "256",
    "--skip",
    "memory, virtiofs",
    "--pods",
    "1,10,30",
    "--config",
    "/etc/hako/configuration.toml",
  ]);
  assert.deepEqual(args, {
    runs: 10,
    concurrency: 3,
    fileMiB: 256,
    skip: new Set(["memory", "virtiofs"]),
    podCounts: [1, 10, 30],
    config: "/etc/hako/configuration.toml",
    help: false,
  });
  assert.equal(parseBenchArgs(["-h"]).help, true);
  assert.equal(parseBenchArgs(["--help"]).help, true);
});

test("a bad argument is refused with one line naming it", () => {
  const refused: [string[], RegExp][] = [
    [["--bogus"], /^unknown option --bogus$/],
    [["-x"], /^unknown option -x$/],
    [["foo"], /^unexpected argument "foo"$/],
    [["--runs"], /^--runs needs a value$/],
    [["--skip"], /^--skip needs a value$/],
    [["--help=yes"], /^--help takes no value$/],
    [["--runs", "0"], /^--runs "0": not a positive integer$/],
    [["--runs", "-1"], /^--runs "-1": not a positive integer$/],
    [["--runs", "abc"], /^--runs "abc": not a positive integer$/],
    [["--runs", "1.5"], /^--runs "1.5": not a positive integer$/],
    [["--runs="], /^--runs "": not a positive integer$/],
    [["--runs", "--skip", "memory"], /^--runs needs a value$/],
    [["--runs=--5"], /^--runs "--5": not a positive integer$/],
    [["--concurrency", "two"], /^--concurrency "two": not a positive integer$/],
    [["--file-mib", "0"], /^--file-mib "0": not a positive integer$/],
    [["--skip", "foo"], /^--skip foo: no section "foo" \(sections: latency, memory, virtiofs, network\)$/],
    [["--skip", "memory,latenc"], /^--skip memory,latenc: no section "latenc"/],
    [["--skip", "latency,memory,virtiofs,network"], /skips every section, nothing would run$/],
    [["--pods", "1,10,3"], /^--pods 1,10,3: "3" is not a pod count above 10/],
    [["--config="], /^--config needs a path$/],
  ];
  for (const [argv, message] of refused) {
    assert.throws(() => parseBenchArgs(argv), { message }, argv.join(" "));
  }
});

test("--pods takes increasing positive counts and names the entry it refuses", () => {
  assert.deepEqual(parsePodCounts("1,10,30"), [1, 10, 30]);
  assert.deepEqual(parsePodCounts(" 2 , 5"), [2, 5]);
  assert.throws(() => parsePodCounts("1,10,3"), /"3" is not a pod count above 10/);
  assert.throws(() => parsePodCounts("0"), /"0" is not a pod count above 0/);
  assert.throws(() => parsePodCounts("1,x"), /"x" is not a pod count above 1/);
  assert.throws(() => parsePodCounts("1.5"), /"1.5"/);
});
