// The node installer (`hako install` / `hako uninstall`, the built CLI) against a scratch node root, and the
// manifests under deploy/ parsed and checked against what the installer writes. No VM, no containerd: the restart
// command is a script that counts its calls.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseToml } from "smol-toml";
import { HAKO_HANDLER, hakoHandlers, hakoRuntimeEntry } from "../../src/deploy/containerd-config.js";
import { ASSET_FILES, NODE_CONFIG, NODE_SHIM_LINK } from "../../src/deploy/node-install.js";

const repo = join(import.meta.dirname, "../..");
const hakoCli = join(repo, "bin/hako");

/** A node's containerd config with settings and comments of its own, which uninstall must give back unchanged. */
const ORIGINAL = `# this node's containerd
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9"   # kept
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true
`;

describe("hako install / uninstall on a scratch node root", () => {
  let work: string;
  let root: string;
  let assets: string;
  let restarts: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), "hako-deploy-"));
    root = join(work, "root");
    assets = join(work, "assets");
    restarts = join(work, "restarts");
    mkdirSync(join(root, "etc/containerd"), { recursive: true });
    mkdirSync(assets);
    for (const f of ASSET_FILES) writeFileSync(join(assets, f), `guest asset ${f}\n`);
    writeFileSync(join(work, "restart.sh"), `#!/bin/sh\necho restarted >> ${restarts}\n`, { mode: 0o755 });
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  const hako = (verb: "install" | "uninstall", extra: string[] = []) => {
    const r = spawnSync(hakoCli, [verb, "--root", root, "--restart-command", join(work, "restart.sh"), ...extra], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { changed: string[]; restarted: boolean };
  };
  const restartCount = () => (existsSync(restarts) ? readFileSync(restarts, "utf8").split("\n").length - 1 : 0);
  const configPath = () => join(root, "etc/containerd/config.toml");

  test("install, a second install that changes nothing, uninstall back to the original bytes", () => {
    writeFileSync(configPath(), ORIGINAL);
    const first = hako("install", ["--assets", assets]);
    assert.equal(first.restarted, true);
    assert.ok(first.changed.includes("/etc/containerd/config.toml"), JSON.stringify(first.changed));
    assert.equal(restartCount(), 1);

    // containerd's config: hako's handler beside runc, whose settings stay.
    const patched = readFileSync(configPath(), "utf8");
    assert.deepEqual(hakoHandlers(patched), [HAKO_HANDLER]);
    assert.match(patched, /SystemdCgroup = true/);
    assert.match(patched, /sandbox_image = "registry.k8s.io\/pause:3.9"/);
    // The shim is where containerd looks (PATH), the assets where the installed configuration points.
    assert.equal(readlinkSync(join(root, NODE_SHIM_LINK)), "/opt/hako/bin/containerd-shim-hako-v2");
    for (const f of ASSET_FILES)
      assert.equal(readFileSync(join(root, "opt/hako/share/assets", f), "utf8"), `guest asset ${f}\n`);
    const config = parseToml(readFileSync(join(root, NODE_CONFIG), "utf8")) as {
      hypervisor: { qemu: { kernel: string } };
    };
    assert.equal(config.hypervisor.qemu.kernel, "/opt/hako/share/assets/vmlinux");
    // The installed CLI runs from the node root alone: its own Node, bundle and koffi.
    const help = execFileSync(join(root, "opt/hako/bin/hako"), ["--help"], { encoding: "utf8" });
    assert.match(help, /hako: a secure container runtime/);

    const second = hako("install", ["--assets", assets]);
    assert.deepEqual(second, { changed: [], restarted: false });
    assert.equal(readFileSync(configPath(), "utf8"), patched);
    assert.equal(restartCount(), 1);

    const removed = hako("uninstall");
    assert.equal(removed.restarted, true);
    assert.equal(readFileSync(configPath(), "utf8"), ORIGINAL, "the original config, byte for byte");
    assert.equal(existsSync(join(root, "opt/hako")), false);
    assert.throws(() => lstatSync(join(root, NODE_SHIM_LINK)), /ENOENT/);
    assert.equal(restartCount(), 2);
    assert.deepEqual(hako("uninstall"), { changed: [], restarted: false }, "a second uninstall has nothing to undo");
  });

  test("a node without a containerd config: install creates one, uninstall removes it", () => {
    rmSync(configPath(), { force: true });
    hako("install", ["--assets", assets]);
    assert.deepEqual(hakoHandlers(readFileSync(configPath(), "utf8")), [HAKO_HANDLER]);
    hako("uninstall");
    assert.equal(existsSync(configPath()), false);
  });

  test("missing guest assets are refused before anything is written", () => {
    const r = spawnSync(
      hakoCli,
      ["install", "--root", root, "--assets", join(work, "nowhere"), "--restart-command", ""],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /guest asset vmlinux not in .*nowhere \(NotFound\)/);
    assert.equal(existsSync(join(root, "opt/hako")), false);
  });
});

/** Every document of a YAML file, through the host's python3-yaml (the project has no YAML parser of its own). */
function yamlDocuments(path: string): Record<string, unknown>[] {
  const json = execFileSync(
    "python3",
    ["-c", "import sys, json, yaml; json.dump(list(yaml.safe_load_all(open(sys.argv[1]))), sys.stdout)", path],
    { encoding: "utf8" },
  );
  return JSON.parse(json) as Record<string, unknown>[];
}

describe("deploy/ manifests", () => {
  const deploy = join(repo, "deploy");

  test("the RuntimeClass names the handler the installer registers, with a fixed pod overhead", () => {
    const [rc] = yamlDocuments(join(deploy, "runtimeclass.yaml")) as {
      apiVersion: string;
      kind: string;
      handler: string;
      overhead: { podFixed: { memory: string; cpu: string } };
    }[];
    assert.equal(rc?.apiVersion, "node.k8s.io/v1");
    assert.equal(rc?.kind, "RuntimeClass");
    assert.equal(rc?.handler, HAKO_HANDLER);
    // At least the measurement it rests on: an idle pod through the CRI plugin, 341.7 MiB (docs/benchmarks.md).
    const mi = Number(/^(\d+)Mi$/.exec(rc?.overhead.podFixed.memory ?? "")?.[1]);
    assert.ok(mi >= 341.7, `overhead.podFixed.memory ${rc?.overhead.podFixed.memory}`);
    assert.match(rc?.overhead.podFixed.cpu ?? "", /^\d+m$/);
  });

  test("the containerd snippet is the entry the installer writes", () => {
    const snippet = parseToml(readFileSync(join(deploy, "containerd-runtime.toml"), "utf8"));
    const text = JSON.stringify(snippet);
    const runtimes = JSON.parse(text).plugins["io.containerd.grpc.v1.cri"].containerd.runtimes;
    assert.deepEqual(Object.keys(runtimes), [HAKO_HANDLER]);
    assert.deepEqual(runtimes[HAKO_HANDLER], hakoRuntimeEntry(NODE_CONFIG));
  });

  test("the DaemonSet runs the deploy image's script privileged, with the node's root at /host", () => {
    const [ds] = yamlDocuments(join(deploy, "hako-deploy.yaml")) as {
      kind: string;
      spec: {
        template: {
          spec: {
            hostPID: boolean;
            containers: { image: string; command: string[]; securityContext: { privileged: boolean } }[];
            volumes: { name: string; hostPath: { path: string } }[];
          };
        };
      };
    }[];
    assert.equal(ds?.kind, "DaemonSet");
    const pod = ds?.spec.template.spec;
    const container = pod?.containers[0];
    assert.equal(pod?.hostPID, true, "restarting containerd enters pid 1's mount namespace");
    assert.equal(container?.securityContext.privileged, true);
    assert.deepEqual(pod?.volumes, [{ name: "node-root", hostPath: { path: "/", type: "Directory" } }]);
    // The image the Containerfile says to build, running the script it installs.
    const containerfile = readFileSync(join(deploy, "Containerfile"), "utf8");
    assert.ok(containerfile.includes(`-t ${container?.image} `), `Containerfile builds ${container?.image}`);
    assert.deepEqual(container?.command, ["/opt/hako-artifacts/hako-deploy.sh"]);
    assert.match(containerfile, /COPY deploy\/hako-deploy.sh \/opt\/hako-artifacts\/hako-deploy.sh/);
    assert.match(readFileSync(join(deploy, "hako-deploy.sh"), "utf8"), /hako install --root "\$root"/);
  });
});
