import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "smol-toml";
import { Code, HakoError } from "../common/errors.js";
import { hakoHandlers, hakoRuntimeEntry, withHakoRuntime } from "./containerd-config.js";

/** The value at `keys` in a TOML text, as plain JSON values. */
function at(text: string, ...keys: string[]): unknown {
  let v: unknown = JSON.parse(JSON.stringify(parse(text)));
  for (const k of keys) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}
const CRI = ["plugins", "io.containerd.grpc.v1.cri"];

const v2 = `version = 2
# the node's own settings
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true
`;

test("hako's handler is added beside the runtimes already there, which keep every setting", () => {
  const out = withHakoRuntime(v2, "/opt/hako/share/configuration.toml", "config.toml");
  assert.deepEqual(at(out, ...CRI, "containerd", "runtimes", "runc"), {
    runtime_type: "io.containerd.runc.v2",
    options: { SystemdCgroup: true },
  });
  assert.deepEqual(
    at(out, ...CRI, "containerd", "runtimes", "hako"),
    hakoRuntimeEntry("/opt/hako/share/configuration.toml"),
  );
  assert.equal(at(out, ...CRI, "containerd", "default_runtime_name"), "runc");
  assert.deepEqual(hakoHandlers(out), ["hako"]);
  assert.deepEqual(hakoHandlers(v2), []);
});

test("a config that already has the entry comes back as the same text", () => {
  const once = withHakoRuntime(v2, "/c.toml", "config.toml");
  assert.equal(withHakoRuntime(once, "/c.toml", "config.toml"), once);
  assert.notEqual(withHakoRuntime(once, "/other.toml", "config.toml"), once, "a different ConfigPath is rewritten");
});

test("no config file: a version 2 file with the handler alone; a version 1 file uses plugins.cri", () => {
  const fresh = withHakoRuntime(undefined, "/c.toml", "config.toml");
  assert.equal(at(fresh, "version"), 2);
  assert.equal(at(fresh, ...CRI, "containerd", "runtimes", "hako", "runtime_type"), "io.containerd.hako.v2");
  const v1 = withHakoRuntime('[plugins.cri]\n  sandbox_image = "pause"\n', "/c.toml", "config.toml");
  assert.equal(at(v1, "plugins", "cri", "sandbox_image"), "pause");
  assert.equal(at(v1, "plugins", "cri", "containerd", "runtimes", "hako", "options", "ConfigPath"), "/c.toml");
});

test("invalid TOML and a runtimes key that is not a table are refused, naming the file", () => {
  const refused = (message: RegExp) => (err: unknown) =>
    err instanceof HakoError && err.code === Code.InvalidArgument && message.test(err.message);
  assert.throws(
    () => withHakoRuntime("version = = 2", "/c.toml", "/etc/containerd/config.toml"),
    refused(/^\/etc\/containerd\/config.toml: not valid TOML/),
  );
  assert.throws(
    () => withHakoRuntime('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\ncontainerd = 3\n', "/c.toml", "cfg"),
    refused(/^cfg: plugins.io.containerd.grpc.v1.cri.containerd.runtimes is not a table/),
  );
});
