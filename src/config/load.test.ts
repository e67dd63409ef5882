// Unit specs for the lookup order: explicit path, $HAKO_CONFIG, the system file, built-in defaults.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import { loadConfig } from "./load.js";

const dir = mkdtempSync(join(tmpdir(), "hako-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, vcpus: number) => {
  const p = join(dir, name);
  writeFileSync(p, `[hypervisor.qemu]\ndefault_vcpus = ${vcpus}\n`);
  return p;
};
const explicit = write("explicit.toml", 2);
const fromEnv = write("env.toml", 3);
const system = write("system.toml", 4);

describe("loadConfig", () => {
  it("prefers the explicit path", () => {
    const c = loadConfig({ path: explicit, env: { HAKO_CONFIG: fromEnv }, systemPath: system });
    assert.equal(c.hypervisor.qemu.defaultVcpus, 2);
    assert.equal(c.source, explicit);
  });
  it("then $HAKO_CONFIG", () => {
    assert.equal(loadConfig({ env: { HAKO_CONFIG: fromEnv }, systemPath: system }).hypervisor.qemu.defaultVcpus, 3);
  });
  it("then the system file", () => {
    assert.equal(loadConfig({ env: {}, systemPath: system }).hypervisor.qemu.defaultVcpus, 4);
  });
  it("then built-in defaults when no system file exists", () => {
    const c = loadConfig({ env: {}, systemPath: join(dir, "absent.toml") });
    assert.equal(c.source, null);
    assert.equal(c.hypervisor.qemu.defaultVcpus, 1);
  });
  it("a missing explicit file is an error naming it", () => {
    assert.throws(
      () => loadConfig({ path: join(dir, "nope.toml"), env: {} }),
      (e: unknown) => e instanceof HakoError && e.code === Code.NotFound && e.message.includes("nope.toml"),
    );
  });
});
