// Unit specs for VM template bookkeeping: the key, what changed between two templates, finding the template for a
// plan (missing, made for other inputs, incomplete, usable), which VMs can never start from one (machine, share,
// root ports for what a clone hot-plugs), and that a pod's NICs leave the key alone (they are hot-plugged per clone).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createLogger, memorySink } from "../../common/log.js";
import type { QemuPlan } from "./cmdline/build.js";
import { chooseStart, grownMemoryMiB, growthRefusal, templateUnsuitable } from "./qemu-template-start.js";
import {
  changedInputs,
  findTemplate,
  markTemplateBroken,
  TEMPLATE_FORMAT,
  type TemplateInputs,
  templateBroken,
  templateDir,
  templateInputs,
  templateKey,
} from "./template.js";

const file = (path: string) => ({ path, size: 1, mtimeMs: 2, ino: 3 });
/** The VM's shape, the same in the inputs below and in the plan of the NIC spec. */
const sizing = {
  machine: "q35",
  machineOptions: "",
  accel: "tcg",
  tcgTbSizeMiB: 64,
  cpuFeatures: "",
  vcpus: 1,
  maxVcpus: 2,
  memoryMiB: 2048,
  maxMemoryMiB: 4096,
  memorySlots: 10,
} as const;
const inputs: TemplateInputs = {
  format: TEMPLATE_FORMAT,
  qemu: file("/usr/bin/qemu"),
  ...sizing,
  firmware: null,
  kernel: file("/k"),
  initrd: file("/i"),
  kernelParams: ["quiet"],
  rootImage: file("/r"),
  agentChannel: "serial",
  debugConsole: false,
  pcieRootPorts: 2,
  entropySource: "/dev/urandom",
};

const root = mkdtempSync(join(tmpdir(), "hako-template-spec-"));
after(() => rmSync(root, { recursive: true, force: true }));

function save(i: TemplateInputs, files = ["memory", "state"]): string {
  const dir = templateDir(root, templateKey(i));
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f), "x");
  const info = { format: TEMPLATE_FORMAT, key: templateKey(i), createdAt: new Date().toISOString(), inputs: i };
  writeFileSync(join(dir, "template.json"), JSON.stringify(info));
  return dir;
}

describe("VM templates", () => {
  it("the key is stable and changes with any input; changedInputs names the fields", () => {
    assert.equal(templateKey(inputs), templateKey({ ...inputs }));
    assert.match(templateKey(inputs), /^[0-9a-f]{16}$/);
    const other = { ...inputs, kernelParams: ["quiet", "hako.test=1"], kernel: { ...inputs.kernel, ino: 9 } };
    assert.notEqual(templateKey(other), templateKey(inputs));
    assert.deepEqual(changedInputs(inputs, other), ["kernel", "kernelParams"]);
  });

  it("findTemplate: none, usable, made for other inputs (saying what changed), incomplete", () => {
    const none = findTemplate(root, inputs);
    assert.ok(!none.ok);
    assert.match(none.reason, /no VM template under .*hako factory init/);
    const dir = save(inputs);
    const found = findTemplate(root, inputs);
    assert.ok(found.ok);
    assert.equal(found.dir, dir);
    const changed = findTemplate(root, { ...inputs, memoryMiB: 4096 });
    assert.ok(!changed.ok);
    assert.match(changed.reason, /made for other inputs \(closest [0-9a-f]{16}, changed: memoryMiB\)/);
    const partial = { ...inputs, vcpus: 2 };
    save(partial, ["memory"]);
    const incomplete = findTemplate(root, partial);
    assert.ok(!incomplete.ok);
    assert.match(incomplete.reason, /is incomplete/);
  });

  it("a message about a template not used names what differs from the closest template, not the newest", () => {
    const tplRoot = mkdtempSync(join(root, "closest-"));
    const at = (i: TemplateInputs, createdAt: string) => {
      const dir = templateDir(tplRoot, templateKey(i));
      mkdirSync(dir);
      for (const f of ["memory", "state"]) writeFileSync(join(dir, f), "x");
      writeFileSync(
        join(dir, "template.json"),
        JSON.stringify({ format: TEMPLATE_FORMAT, key: templateKey(i), createdAt, inputs: i }),
      );
    };
    at(inputs, "2026-01-01T00:00:00.000Z");
    at({ ...inputs, kernelParams: ["quiet", "hako.x=1"] }, "2026-06-01T00:00:00.000Z");
    const r = findTemplate(tplRoot, { ...inputs, memoryMiB: 1024 });
    assert.ok(!r.ok);
    assert.match(r.reason, new RegExp(`closest ${templateKey(inputs)}, changed: memoryMiB\\)`));
  });

  it("a template whose restore failed is marked broken and not used again, saying to run hako factory init", () => {
    const tplRoot = mkdtempSync(join(root, "broken-"));
    const dir = templateDir(tplRoot, templateKey(inputs));
    mkdirSync(dir);
    for (const f of ["memory", "state"]) writeFileSync(join(dir, f), "x");
    writeFileSync(
      join(dir, "template.json"),
      JSON.stringify({
        format: TEMPLATE_FORMAT,
        key: templateKey(inputs),
        createdAt: "2026-01-01T00:00:00.000Z",
        inputs,
      }),
    );
    assert.ok(findTemplate(tplRoot, inputs).ok);
    const sink = memorySink();
    markTemplateBroken(dir, "load of migration failed", createLogger({ level: "info", sink }));
    assert.equal(templateBroken(dir)?.reason, "load of migration failed");
    const r = findTemplate(tplRoot, inputs);
    assert.ok(!r.ok);
    assert.match(r.reason, /failed to restore at .* \(load of migration failed\); run hako factory init to remake it/);
    assert.ok(sink.entries().some((e) => String(e.msg).startsWith("VM template marked broken")));
  });

  it("a 9p share, microvm, or too few root ports for the share, NICs and block devices keep a VM from a template", () => {
    const plan = { machine: "q35", share: { kind: "virtio-fs", socketPath: "/s" }, nics: [], pcieRootPorts: 2 };
    const unsuitable = (p: object, blocks = 0) => templateUnsuitable({ ...plan, ...p } as unknown as QemuPlan, blocks);
    assert.equal(unsuitable({}), undefined);
    assert.equal(unsuitable({ nics: [{}] }), undefined, "the share and one NIC fit in two ports");
    assert.equal(unsuitable({ share: { kind: "none" }, nics: [{}, {}] }), undefined);
    assert.match(
      String(unsuitable({ nics: [{}, {}] })),
      /pcie_root_port = 2 is too few for a clone: the share, 2 NIC\(s\) and 0 block device\(s\) need 3/,
    );
    assert.match(String(unsuitable({ nics: [{}] }, 1)), /1 NIC\(s\) and 1 block device\(s\) need 3/);
    assert.match(String(unsuitable({ pcieRootPorts: 0 })), /pcie_root_port = 0 .* need 1/);
    assert.match(String(unsuitable({ share: { kind: "virtio-9p", path: "/d" } })), /virtio-9p/);
    assert.match(String(unsuitable({ machine: "microvm" })), /microvm .*templates need q35/);
  });

  it("a pod's NICs do not change the key: a networked sandbox clones the template its NIC-less twin would", () => {
    const dir = mkdtempSync(join(root, "plan-"));
    for (const f of ["qemu", "vmlinux", "initrd"]) writeFileSync(join(dir, f), f);
    const plan: QemuPlan = {
      id: "sb",
      ...sizing,
      tcgThread: "single",
      kernel: join(dir, "vmlinux"),
      initrd: join(dir, "initrd"),
      kernelParams: ["quiet"],
      agent: { kind: "serial", socketPath: join(dir, "agent.sock") },
      share: { kind: "virtio-fs", socketPath: join(dir, "vfs.sock") },
      consoleLogPath: join(dir, "console.log"),
      qmpSocketPath: join(dir, "qmp.sock"),
      nics: [],
      pcieRootPorts: 2,
    };
    const qemu = join(dir, "qemu");
    const tplRoot = join(dir, "templates");
    const inputs = templateInputs(plan, qemu);
    const saved = templateDir(tplRoot, templateKey(inputs));
    mkdirSync(saved, { recursive: true });
    for (const f of ["memory", "state"]) writeFileSync(join(saved, f), "x");
    const info = { format: TEMPLATE_FORMAT, key: templateKey(inputs), createdAt: new Date().toISOString(), inputs };
    writeFileSync(join(saved, "template.json"), JSON.stringify(info));

    const sink = memorySink();
    const log = createLogger({ level: "info", sink });
    const factory = { enableTemplate: true, templatePath: tplRoot, vmCacheNumber: 0 };
    const nic = { id: "net0", tapName: "tap0_hako", mac: "02:00:00:00:00:01", mtu: 1500, vhost: false };
    const networked = { ...plan, nics: [nic] };
    assert.equal(templateKey(templateInputs(networked, qemu)), templateKey(inputs));
    assert.deepEqual(chooseStart(factory, networked, qemu, log), {
      kind: "clone",
      dir: saved,
      key: templateKey(inputs),
      plan: networked,
    });
    // A sandbox sized for its pod's limits clones the default-size template and is grown; one too big is booted.
    const bigger = { ...networked, vcpus: 2, memoryMiB: 2304 };
    assert.deepEqual(chooseStart(factory, bigger, qemu, log, 0, networked), {
      kind: "clone",
      dir: saved,
      key: templateKey(inputs),
      plan: networked,
    });
    assert.deepEqual(chooseStart(factory, { ...bigger, vcpus: 3 }, qemu, log, 0, networked), { kind: "cold" });
    // At the default size the plan is its own default-size twin: its own template, nothing to grow.
    assert.deepEqual(chooseStart(factory, networked, qemu, log, 0, networked), {
      kind: "clone",
      dir: saved,
      key: templateKey(inputs),
      plan: networked,
    });
    const tooBig = sink
      .entries()
      .filter((e) => e.msg === "VM template not used: booting the VM")
      .at(-1);
    assert.match(
      String(tooBig?.reason),
      /the default-size VM template cannot grow into this VM: it can grow to 2 vCPUs/,
    );
    assert.deepEqual(chooseStart({ ...factory, enableTemplate: false }, networked, qemu, log), { kind: "cold" });
    // A second NIC (or a block device) does not fit beside the share in two root ports: booted, saying why.
    assert.deepEqual(chooseStart(factory, networked, qemu, log, 1), { kind: "cold" });
    const warning = sink
      .entries()
      .filter((e) => e.msg === "VM template not used: booting the VM")
      .at(-1);
    assert.match(String(warning?.reason), /pcie_root_port = 2 is too few for a clone/);
    // With the default-size template broken, the bigger sandbox boots and the warning says why that template failed.
    markTemplateBroken(saved, "load of migration failed", log);
    assert.deepEqual(chooseStart(factory, bigger, qemu, log, 0, networked), { kind: "cold" });
    const last = sink
      .entries()
      .filter((e) => e.msg === "VM template not used: booting the VM")
      .at(-1);
    assert.match(String(last?.reason), /failed to restore .*load of migration failed.*run hako factory init/);
  });

  it("a default-size VM grows into a bigger plan only within maxcpus, maxmem and DIMM slots", () => {
    const small = { ...sizing } as unknown as QemuPlan;
    const plan = (p: object) => ({ ...sizing, ...p }) as unknown as QemuPlan;
    assert.equal(growthRefusal(small, plan({ vcpus: 2 })), undefined);
    assert.equal(growthRefusal(small, plan({ memoryMiB: 2560 })), undefined);
    assert.match(String(growthRefusal(small, plan({ vcpus: 3 }))), /can grow to 2 vCPUs/, "beyond maxcpus");
    assert.match(String(growthRefusal(small, plan({ memoryMiB: 8192 }))), /above maxmem/, "beyond maxmem");
    assert.match(String(growthRefusal(small, plan({ memoryMiB: 1024, vcpus: 2 }))), /it is bigger/, "smaller memory");
    assert.match(
      String(growthRefusal({ ...small, memorySlots: 0 }, plan({ memoryMiB: 2560 }))),
      /memory_slots = 0/,
      "no DIMM slot",
    );
    assert.equal(growthRefusal({ ...small, memorySlots: 0 }, plan({ vcpus: 2 })), undefined, "vCPUs need no slot");
    // Memory is plugged in 128 MiB blocks: what counts against maxmem is the size once rounded up.
    const capped = { ...small, maxMemoryMiB: 2600 } as QemuPlan;
    assert.equal(grownMemoryMiB(capped, plan({ memoryMiB: 2100 })), 2176);
    assert.equal(growthRefusal(capped, plan({ memoryMiB: 2560 })), undefined);
    assert.match(
      String(growthRefusal(capped, plan({ memoryMiB: 2561 }))),
      /grown in 128 MiB blocks its memory would be 2688 MiB, above maxmem \(2600 MiB\)/,
    );
    assert.match(String(growthRefusal(small, plan({ vcpus: 3 }))), /can grow to 2 vCPUs .* this VM has 3/);
  });
});
