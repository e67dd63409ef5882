// `hako ps`, `hako logs` and `hako exec` (no debug console) as a user runs them, against state files in a private
// run directory.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type SandboxStateV1, writeSandboxState } from "../runtime/sandbox-state.js";

const root = mkdtempSync(join(tmpdir(), "hako-ps-"));
const vm = spawn("sleep", ["30"], { stdio: "ignore" });
after(() => {
  vm.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function hako(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    encoding: "utf8",
    env: { ...process.env, HAKO_RUN_DIR: root },
  });
}

async function sandbox(id: string, ownerPid: number): Promise<SandboxStateV1> {
  const stateDir = join(root, id);
  mkdirSync(stateDir, { recursive: true });
  const s: SandboxStateV1 = {
    version: 1,
    id,
    namespace: "k8s.io",
    ownerPid,
    createdAt: "2026-01-01T00:00:00.000Z",
    stateDir,
    sharedDir: join(root, "shared", id),
    vm: { pid: vm.pid ?? 0, accelerator: "tcg", consoleLog: join(stateDir, "console.log"), vcpus: 2, memoryMiB: 2048 },
    containers: [{ id: `${id}-c1`, bundle: "/b", status: "running", pid: 7, hostMounts: [] }],
    phases: { "vm-started": 900 },
  };
  await writeSandboxState(join(stateDir, "sandbox.json"), s);
  return s;
}

test("ps lists running and stale sandboxes with VM and containers", async () => {
  await sandbox("aaa111", process.pid);
  await sandbox("bbb222", 2 ** 22 + 3); // an owner pid that cannot exist: stale
  const r = hako("ps", "--json");
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as {
    id: string;
    status: string;
    vmPid: number;
    vcpus: number;
    vmRssMiB: number | null;
    containers: { id: string }[];
  }[];
  const a = rows.find((x) => x.id === "aaa111");
  assert.equal(a?.status, "running");
  assert.equal(a?.vmPid, vm.pid);
  assert.equal(a?.vcpus, 2);
  assert.ok(a?.vmRssMiB !== null && a?.vmRssMiB !== undefined, "RSS of the live VM process");
  assert.deepEqual(
    a?.containers.map((c) => c.id),
    ["aaa111-c1"],
  );
  assert.equal(rows.find((x) => x.id === "bbb222")?.status, "stale");
  const table = hako("ps");
  assert.match(table.stdout, /^SANDBOX\s+NAMESPACE/);
  assert.match(table.stdout, /aaa111\s+k8s\.io\s+running/);
});

test("ps says whether each VM booted or was restored from a VM template", async () => {
  const booted = await sandbox("fff666", process.pid);
  const cloned = await sandbox("ggg777", process.pid);
  const vmOf = (s: SandboxStateV1) => s.vm ?? assert.fail("the helper writes a vm");
  await writeSandboxState(join(booted.stateDir, "sandbox.json"), {
    ...booted,
    vm: { ...vmOf(booted), start: { kind: "boot" } },
  });
  await writeSandboxState(join(cloned.stateDir, "sandbox.json"), {
    ...cloned,
    vm: { ...vmOf(cloned), start: { kind: "template", template: "k1" } },
  });
  const rows = JSON.parse(hako("ps", "--json").stdout) as {
    id: string;
    start: string | null;
    template: string | null;
  }[];
  const pick = (id: string) => rows.filter((r) => r.id === id).map((r) => [r.start, r.template]);
  assert.deepEqual(pick("fff666"), [["boot", null]]);
  assert.deepEqual(pick("ggg777"), [["template", "k1"]]);
  assert.deepEqual(pick("aaa111"), [[null, null]], "a state file from before the field");
  const table = hako("ps").stdout;
  assert.match(table, /^SANDBOX\s+NAMESPACE\s+STATUS\s+VM PID\s+START\s+ACCEL/);
  assert.match(table, /ggg777\s+k8s\.io\s+running\s+\d+\s+template\s+tcg/);
  assert.match(table, /fff666\s+k8s\.io\s+running\s+\d+\s+boot\s+tcg/);
});

test("ps lists a sandbox whose state file is unreadable, with the reason, instead of skipping it", async () => {
  mkdirSync(join(root, "eee555"), { recursive: true });
  writeFileSync(join(root, "eee555", "sandbox.json"), "{ torn");
  const r = hako("ps", "--json");
  assert.equal(r.status, 0, r.stderr);
  const row = (JSON.parse(r.stdout) as { id: string; status: string; error?: string }[]).find((x) => x.id === "eee555");
  assert.equal(row?.status, "unreadable");
  assert.match(row?.error ?? "", /eee555\/sandbox\.json/);
  assert.match(hako("ps").stdout, /eee555\s+-\s+unreadable/);
});

test("logs prints the console log of a sandbox found by prefix; unknown ids fail", async () => {
  const s = await sandbox("ccc333", process.pid);
  writeFileSync(s.vm?.consoleLog ?? "", "[    0.000000] Linux version 6.1\nhako-agent ready\n");
  const r = hako("logs", "ccc");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "[    0.000000] Linux version 6.1\nhako-agent ready\n");
  const tail = hako("logs", "--tail-bytes", "17", "ccc333");
  assert.equal(tail.stdout, "hako-agent ready\n");
  const missing = hako("logs", "zzz");
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no sandbox zzz/);
});

test("exec explains how to enable the debug console when a sandbox has none", async () => {
  await sandbox("ddd444", process.pid);
  const r = hako("exec", "ddd444", "uname", "-r");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /debug_console_enabled = true/);
});
