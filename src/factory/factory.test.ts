// Unit specs for `hako factory status|destroy` on a template_path that holds more than hako's templates: only
// key-named directories with a template.json are templates, init's work directories show as builds (running or
// interrupted), destroy removes only what hako made (killing the QEMU of a killed init only when /proc shows it is
// that template VM) and template_path only when it is left empty; status clamps an age from the future, shows a
// broken template as such, and says when the configuration never uses templates (9p); init interrupted once its VM is
// up stops that VM without warning that QEMU died. No VM is booted: the assets are empty files and the "QEMU" is a
// node process with the template VM's argv (for init, one that answers QMP and nothing else).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { destroyText, statusText } from "../cli/factory.js";
import { createLogger, memorySink } from "../common/log.js";
import { processArgv } from "../common/watched-process.js";
import { defaultConfig } from "../config/defaults.js";
import type { HakoConfig } from "../config/types.js";
import { currentTemplateInputs } from "../hypervisor/qemu/qemu-template-vm.js";
import { vmName } from "../hypervisor/qemu/state-dir.js";
import { markTemplateBroken, TEMPLATE_FORMAT, templateKey } from "../hypervisor/qemu/template.js";
import { destroyTemplates, factoryStatus, initTemplate } from "./factory.js";
import { cleanInterruptedBuilds, RUN_DIR, templateVmId, workDirName } from "./interrupted.js";
import { MADE_PARENTS, madeParents, makeTemplatePath } from "./made-parents.js";

const work = mkdtempSync(join(tmpdir(), "hako-factory-spec-"));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});
const log = createLogger({ level: "info", sink: memorySink() });

function config(root: string, sharedFs: "virtio-fs" | "virtio-9p" = "virtio-fs"): HakoConfig {
  const c = defaultConfig();
  const assets = join(work, "assets");
  mkdirSync(assets, { recursive: true });
  for (const f of ["qemu", "vmlinux", "initrd", "root.img"]) writeFileSync(join(assets, f), f);
  Object.assign(c.hypervisor.qemu, {
    path: join(assets, "qemu"),
    kernel: join(assets, "vmlinux"),
    initrd: join(assets, "initrd"),
    image: join(assets, "root.img"),
    accel: "tcg",
    agentChannel: "serial",
    sharedFs,
  });
  c.factory.templatePath = root;
  return c;
}

/** A template directory as init leaves it, for `key` (created `createdAt`), with `inputs` of the config. */
function saveTemplate(root: string, cfg: HakoConfig, createdAt = new Date().toISOString()): string {
  const inputs = currentTemplateInputs(cfg, log);
  const key = templateKey(inputs);
  const dir = join(root, key);
  mkdirSync(dir, { recursive: true });
  for (const f of ["memory", "state"]) writeFileSync(join(dir, f), "x");
  writeFileSync(join(dir, "template.json"), JSON.stringify({ format: TEMPLATE_FORMAT, key, createdAt, inputs }));
  return key;
}

/** A process whose argv carries `-name <name>`, as QEMU's does; it runs until killed. */
function fakeQemu(name: string): ChildProcess {
  const c = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e9)", "--", "-name", name], { stdio: "ignore" });
  children.push(c);
  return c;
}

/** A pid that no process has now: a child that has exited. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => c.once("exit", r));
  return c.pid as number;
}

const running = (pid: number | undefined) => pid !== undefined && (processArgv(pid)?.length ?? 0) > 0;
async function waitFor(cond: () => boolean, tries = 100): Promise<void> {
  for (let i = 0; i < tries && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
}

describe("hako factory on a shared template_path", () => {
  it("status lists only hako's templates, builds apart, a future age as 0 and a broken template as broken", () => {
    const root = join(work, "status");
    const cfg = config(root);
    const key = saveTemplate(root, cfg, new Date(Date.now() + 3600_000).toISOString());
    mkdirSync(join(root, "unrelated"));
    mkdirSync(join(root, "0123456789abcdef")); // key-shaped but without template.json: not hako's
    mkdirSync(join(root, workDirName(key, process.pid)));
    const s = factoryStatus(cfg, log);
    assert.deepEqual(
      s.templates.map((t) => t.key),
      [key],
    );
    const t = s.templates[0];
    assert.equal(t?.current, true);
    assert.equal(t?.ageS, 0);
    assert.ok((t?.createdInFutureS ?? 0) >= 3599, `createdInFutureS ${t?.createdInFutureS}`);
    assert.deepEqual(s.builds, [{ name: workDirName(key, process.pid), pid: process.pid, running: true }]);
    assert.equal(s.unusable, undefined);
    const text = statusText(s, true);
    assert.match(text, /age {3}0s {2}current \(made 3\d{3}s in the future: clock set back\?\)/);
    assert.match(text, /\.tmp-\d+ {2}init running/);
    assert.doesNotMatch(text, /unrelated|unreadable/);

    markTemplateBroken(join(root, key), "load of migration failed", log);
    const broken = factoryStatus(cfg, log).templates[0];
    assert.equal(broken?.current, false);
    assert.equal(broken?.broken?.reason, "load of migration failed");
    assert.match(statusText(factoryStatus(cfg, log), true), /broken: restore failed at .*load of migration failed/);
  });

  it("status says templates are not used with shared_fs = virtio-9p, and why", () => {
    const root = join(work, "ninep");
    const s = factoryStatus(config(root, "virtio-9p"), log);
    assert.match(String(s.unusable), /virtio-9p cannot be hot-plugged/);
    assert.match(statusText(s, true), /templates are not used with this configuration: shared_fs = virtio-9p/);
  });

  it("destroy removes only what hako made, names it, and keeps template_path while it holds other files", async () => {
    const root = join(work, "destroy");
    const cfg = config(root);
    const key = saveTemplate(root, cfg);
    writeFileSync(join(root, "notes.txt"), "mine");
    mkdirSync(join(root, "photos"));
    const dead = await deadPid();
    mkdirSync(join(root, workDirName(key, dead)));
    mkdirSync(join(root, RUN_DIR, templateVmId(key, dead)), { recursive: true });
    const r = await destroyTemplates(cfg, log);
    assert.deepEqual(r.templates, [key]);
    assert.deepEqual(r.interrupted.sort(), [join(RUN_DIR, templateVmId(key, dead)), workDirName(key, dead)].sort());
    assert.equal(r.rootRemoved, false);
    assert.deepEqual(r.others.sort(), ["notes.txt", "photos"]);
    assert.deepEqual(readdirSync(root).sort(), ["notes.txt", "photos"]);
    const text = destroyText(root, r);
    assert.match(text, new RegExp(`^removed template ${key}$`, "m"));
    assert.match(text, new RegExp(`^removed interrupted build ${workDirName(key, dead).replace(".", "\\.")}$`, "m"));
    assert.match(text, /it holds 2 entries that are not hako's/);
    assert.doesNotMatch(text, /\.run$|removed \d+ entr/m);

    rmSync(join(root, "notes.txt"));
    rmSync(join(root, "photos"), { recursive: true });
    saveTemplate(root, cfg);
    const last = await destroyTemplates(cfg, log);
    assert.equal(last.rootRemoved, true);
    assert.ok(!existsSync(root));
  });

  it("a killed init's QEMU is killed only if /proc shows it is that template VM; a running init is left alone", async () => {
    const root = join(work, "leftover");
    const key = "00112233445566aa";
    const dead = await deadPid();
    const id = templateVmId(key, dead);
    const qemu = fakeQemu(`${vmName(id)},debug-threads=on`);
    const impostor = fakeQemu(`${vmName(id)}0`); // another VM whose name only starts the same
    const other = templateVmId(key, (await deadPid()) + 0);
    for (const [vm, pid] of [
      [id, qemu.pid],
      [other, impostor.pid],
    ] as const) {
      mkdirSync(join(root, RUN_DIR, vm), { recursive: true });
      writeFileSync(join(root, RUN_DIR, vm, "qemu.pid"), `${pid}\n`);
    }
    mkdirSync(join(root, workDirName(key, dead)));
    writeFileSync(join(root, workDirName(key, dead), "memory"), "x");
    // A work directory of this (running) process: an init in progress.
    mkdirSync(join(root, workDirName(key, process.pid)));
    await waitFor(() => running(qemu.pid) && running(impostor.pid));

    const r = await cleanInterruptedBuilds(root, log);
    assert.deepEqual(r.killed, [qemu.pid]);
    await waitFor(() => !running(qemu.pid));
    assert.ok(!running(qemu.pid), "the template VM of the killed init is still running");
    assert.ok(running(impostor.pid), "a process that is not that template VM was killed");
    assert.ok(!existsSync(join(root, workDirName(key, dead))));
    assert.ok(!existsSync(join(root, RUN_DIR, id)));
    assert.ok(existsSync(join(root, workDirName(key, process.pid))), "a running init's work directory was removed");
  });
  it("status names a killed init's template VM that still runs, with its pid, and says destroy removes it", async () => {
    const root = join(work, "killed-init");
    const cfg = config(root);
    const key = "00112233445566bb";
    const dead = await deadPid();
    const id = templateVmId(key, dead);
    const qemu = fakeQemu(vmName(id));
    mkdirSync(join(root, RUN_DIR, id), { recursive: true });
    writeFileSync(join(root, RUN_DIR, id, "qemu.pid"), `${qemu.pid}\n`);
    mkdirSync(join(root, workDirName(key, dead)));
    await waitFor(() => running(qemu.pid));

    const s = factoryStatus(cfg, log);
    assert.deepEqual(s.builds, [{ name: workDirName(key, dead), pid: dead, running: false, qemuPid: qemu.pid }]);
    assert.match(
      statusText(s, true),
      new RegExp(`template VM still runs \\(QEMU pid ${qemu.pid}\\): hako factory destroy .*kills it`),
    );
    const r = await destroyTemplates(cfg, log);
    assert.deepEqual(r.killed, [qemu.pid]);
    await waitFor(() => !running(qemu.pid));
    assert.ok(!running(qemu.pid), "destroy left the killed init's QEMU running");
  });

  it("destroy removes the parents init created for template_path, each only while empty, and no other", async () => {
    // Parents created by init (as /run/hako-factory is for the default /run/hako-factory/template) go with it.
    const base = join(work, "parents");
    mkdirSync(base);
    const root = join(base, "made", "by-init", "template");
    makeTemplatePath(root);
    assert.deepEqual(madeParents(root), [join(base, "made", "by-init"), join(base, "made")]);
    const cfg = config(root);
    const key = saveTemplate(root, cfg);
    assert.deepEqual(
      factoryStatus(cfg, log).templates.map((t) => t.key),
      [key],
    );
    const r = await destroyTemplates(cfg, log);
    assert.equal(r.rootRemoved, true);
    assert.deepEqual(r.parentsRemoved, [join(base, "made", "by-init"), join(base, "made")]);
    assert.deepEqual(readdirSync(base), [], "a parent init created was left");
    assert.match(destroyText(root, r), new RegExp(`^removed ${join(base, "made")} \\(empty; hako factory init`, "m"));

    // A parent that existed before init (a user's /var/lib/x of /var/lib/x/template) is never removed.
    const mine = join(base, "users-own");
    mkdirSync(mine);
    makeTemplatePath(join(mine, "template"));
    assert.deepEqual(readdirSync(join(mine, "template")), [], "a record was written for a parent init did not make");
    const own = await destroyTemplates(config(join(mine, "template")), log);
    assert.deepEqual([own.rootRemoved, own.parentsRemoved, existsSync(mine)], [true, [], true]);

    // A parent init made that now holds something else stays, and so does its record while template_path stays.
    const shared = join(base, "shared", "template");
    makeTemplatePath(shared);
    writeFileSync(join(base, "shared", "notes.txt"), "mine");
    const kept = await destroyTemplates(config(shared), log);
    assert.deepEqual([kept.rootRemoved, kept.parentsRemoved], [true, []]);
    assert.deepEqual(readdirSync(join(base, "shared")), ["notes.txt"]);
    const busy = join(base, "busy", "template");
    makeTemplatePath(busy);
    writeFileSync(join(busy, "other.txt"), "mine");
    const left = await destroyTemplates(config(busy), log);
    assert.deepEqual([left.rootRemoved, left.others], [false, ["other.txt"]]);
    assert.deepEqual(madeParents(busy), [join(base, "busy")]);

    // A record names only the unbroken run of template_path's parents from its own: other names are ignored.
    writeFileSync(join(busy, MADE_PARENTS), JSON.stringify({ parents: [work, "/", "relative", join(base, "busy")] }));
    assert.deepEqual(madeParents(busy), [join(base, "busy")]);
    writeFileSync(join(busy, MADE_PARENTS), JSON.stringify({ parents: [work, "/tmp"] }));
    assert.deepEqual(madeParents(busy), []);
  });
});

/**
 * A "QEMU" for init: listens on the QMP socket its argv names, greets, answers every command with an empty return
 * (exiting on quit), and creates `<socket>.connected` once a client is on. The guest never comes up.
 */
function qmpOnlyQemu(): string {
  const script = join(work, "qmp-only-qemu.cjs");
  writeFileSync(
    script,
    `const net = require("node:net"), fs = require("node:fs");
const chardev = process.argv.find((a) => a.startsWith("socket,id=charqmp0,"));
const path = /path=([^,]+)/.exec(chardev)[1];
net.createServer((s) => {
  s.write(JSON.stringify({ QMP: { version: {}, capabilities: [] } }) + "\\n");
  let buf = "";
  s.on("data", (d) => {
    buf += d;
    for (let i = buf.indexOf("\\n"); i >= 0; i = buf.indexOf("\\n")) {
      const m = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      s.write(JSON.stringify({ return: {}, id: m.id }) + "\\n");
      if (m.execute === "quit") process.exit(0);
    }
  });
  fs.writeFileSync(path + ".connected", "");
}).listen(path);
`,
  );
  const qemu = join(work, "qmp-only-qemu");
  writeFileSync(qemu, `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`);
  chmodSync(qemu, 0o755);
  return qemu;
}

describe("hako factory init interrupted", () => {
  for (const existed of [false, true]) {
    it(`once its VM is up, stops the VM as its own stop: no 'qemu exited unexpectedly', nothing left (template_path ${existed ? "made before" : "made by init"})`, async () => {
      const root = join(work, existed ? "init-abort-existing" : "nested", "init-abort");
      if (existed) mkdirSync(root, { recursive: true });
      const cfg = config(root);
      cfg.hypervisor.qemu.path = qmpOnlyQemu();
      const sink = memorySink();
      const ac = new AbortController();
      const init = initTemplate(cfg, createLogger({ level: "debug", sink }), { signal: ac.signal });
      const runRoot = join(root, RUN_DIR);
      const connected = () =>
        existsSync(runRoot) && readdirSync(runRoot).some((d) => existsSync(join(runRoot, d, "qmp.sock.connected")));
      await waitFor(connected, 500); // a node process's start, on a busy host
      assert.ok(connected(), "init did not connect to its VM's QMP socket");
      ac.abort("SIGINT");
      await assert.rejects(init, /hako factory init interrupted: template VM stopped/);
      const said = sink.entries().map((e) => `${String(e.level)}: ${String(e.msg)}`);
      assert.deepEqual(
        said.filter((l) => /unexpected/.test(l)),
        [],
        said.join("\n"),
      );
      if (existed) assert.deepEqual(readdirSync(root), [], "init left files behind");
      else assert.ok(!existsSync(join(work, "nested")), "init left template_path and the parent it made behind");
    });
  }
});
