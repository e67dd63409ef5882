// Unit specs for what the `hako` command prints on stderr: log entries as one human line each (no JSON, no stack),
// a failed command as `hako: error: … (CODE)`, JSON lines only when HAKO_LOG_FORMAT=json. The last spec runs the
// real command line (`hako factory destroy|init`, no VM booted: the "QEMU" is a node process with its argv).
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { Code, HakoError } from "../common/errors.js";
import { memorySink, silentLogger } from "../common/log.js";
import { loadConfig } from "../config/index.js";
import { RUN_DIR, templateVmId, workDirName } from "../factory/interrupted.js";
import { currentTemplateInputs } from "../hypervisor/qemu/qemu-template-vm.js";
import { vmName } from "../hypervisor/qemu/state-dir.js";
import { TEMPLATE_FORMAT, templateKey } from "../hypervisor/qemu/template.js";
import { cliLogger, errorLine } from "./cli-log.js";

const work = mkdtempSync(join(tmpdir(), "hako-cli-log-spec-"));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

/** A config for the hako command with empty assets under `work` and the given template_path; returns its path. */
function config(templatePath: string, accel = "tcg"): string {
  for (const f of ["qemu", "vmlinux", "initrd", "root.img", "a-file"]) writeFileSync(join(work, f), f);
  const path = join(work, `${templatePath.length}-${accel}.toml`);
  const assets = `path = "${join(work, "qemu")}"\nkernel = "${join(work, "vmlinux")}"\ninitrd = "${join(work, "initrd")}"\nimage = "${join(work, "root.img")}"\naccel = "${accel}"\n`;
  writeFileSync(path, `[hypervisor.qemu]\n${assets}\n[factory]\ntemplate_path = "${templatePath}"\n`);
  return path;
}

/** `hako ARGS` from the sources at log level info, human lines. */
async function hako(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, HAKO_LOG_LEVEL: "info" };
  delete env.HAKO_LOG_FORMAT;
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", ...args],
      { env },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

test("hako's log entries are one human line each: level (none for info), message, error chain, fields", () => {
  const sink = memorySink();
  const log = cliLogger({ level: "info", sink }).child({ subsystem: "factory" });
  log.warn("KVM is not usable, running guests under TCG (slower)", { reason: "/dev/kvm is missing" });
  const cause = Object.assign(new Error("ENOENT: no such file or directory, open '/b/config.json'"), {
    code: "ENOENT",
  });
  log.error("start failed", {
    err: new HakoError(Code.FailedPrecondition, "cannot read the OCI spec", { cause }),
    id: "x",
  });
  log.info("killing the template VM", { pid: 42, ids: ["a", "b"] });
  log.debug("not shown at info");
  assert.deepEqual(sink.lines, [
    "hako: warning: KVM is not usable, running guests under TCG (slower); reason: /dev/kvm is missing\n",
    "hako: error: start failed: cannot read the OCI spec: ENOENT: no such file or directory, open '/b/config.json'; id: x\n",
    'hako: killing the template VM; pid: 42, ids: ["a","b"]\n',
  ]);
});

test("HAKO_LOG_FORMAT=json gives the JSON lines back; a failed command is one error line with its code", () => {
  const sink = memorySink();
  process.env.HAKO_LOG_FORMAT = "json";
  try {
    cliLogger({ level: "info", sink }).warn("w", { n: 1 });
  } finally {
    delete process.env.HAKO_LOG_FORMAT;
  }
  assert.deepEqual(
    sink.entries().map((e) => [e.level, e.msg, e.n]),
    [["warning", "w", 1]],
  );
  assert.equal(errorLine(new HakoError(Code.NotFound, "no sandbox x")), "hako: error: no sandbox x (NotFound)\n");
});

test("the hako command prints no JSON log line and no stack: destroy's notes and init's error are human lines", async () => {
  const root = join(work, "templates");
  const key = "00112233445566cc";
  const dead = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => dead.once("exit", r));
  const id = templateVmId(key, dead.pid as number);
  const qemu = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e9)", "--", "-name", vmName(id)], {
    stdio: "ignore",
  });
  children.push(qemu);
  mkdirSync(join(root, RUN_DIR, id), { recursive: true });
  writeFileSync(join(root, RUN_DIR, id, "qemu.pid"), `${qemu.pid}\n`);
  mkdirSync(join(root, workDirName(key, dead.pid as number)));
  const destroy = await hako("factory", "destroy", "-c", config(root));
  assert.equal(destroy.code, 0, destroy.stderr);
  assert.equal(
    destroy.stderr,
    `hako: killing the template VM of an interrupted hako factory init; pid: ${qemu.pid}, id: ${id}\n`,
  );
  const init = await hako("factory", "init", "-c", config(join(work, "a-file", "templates")));
  assert.equal(init.code, 1);
  assert.match(
    init.stderr,
    /^hako: error: \[factory\] template_path \S+\/a-file\/templates: cannot .*\(FailedPrecondition\)\n$/,
  );
});

test("hako factory init with enable_template off: the result on stdout, the warning that nothing uses it on stderr", async () => {
  // accel = "auto": where the probe finds no KVM (this host under TCG), an init that boots nothing does not say so.
  const root = join(work, "unused");
  const path = config(root, "auto");
  // An up-to-date template already there: init keeps it and boots nothing.
  const inputs = currentTemplateInputs(loadConfig({ path }), silentLogger);
  const key = templateKey(inputs);
  mkdirSync(join(root, key), { recursive: true });
  for (const f of ["memory", "state"]) writeFileSync(join(root, key, f), "x");
  const info = { format: TEMPLATE_FORMAT, key, createdAt: new Date().toISOString(), inputs };
  writeFileSync(join(root, key, "template.json"), JSON.stringify(info));
  const init = await hako("factory", "init", "-c", path);
  assert.deepEqual(init, {
    code: 0,
    stdout: `template ${key} already up to date: ${join(root, key)}\n`,
    stderr: "hako: warning: [factory] enable_template is false: sandboxes will not use this template\n",
  });
});
