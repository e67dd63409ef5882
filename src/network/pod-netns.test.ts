// Covers podNetns: path, empty and host-network specs under each internetworking model.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, HakoError } from "../common/errors.js";
import type { OciSpec } from "../oci/spec.js";
import { podNetns } from "./pod-netns.js";

function spec(namespaces: { type: string; path?: string }[]): OciSpec {
  return { ociVersion: "1.0.2", linux: { namespaces } };
}

describe("podNetns", () => {
  it("wires a namespace given by path", () => {
    const s = spec([{ type: "pid" }, { type: "network", path: "/var/run/netns/cni-1" }]);
    assert.deepEqual(podNetns(s, "tcfilter", "sb"), { kind: "path", path: "/var/run/netns/cni-1" });
    assert.deepEqual(podNetns(s, "macvtap", "sb"), { kind: "path", path: "/var/run/netns/cni-1" });
  });

  it("gives no NIC for a new empty namespace (network entry without a path)", () => {
    assert.deepEqual(podNetns(spec([{ type: "network" }]), "tcfilter", "sb"), { kind: "empty" });
  });

  it("refuses the host network, naming the reason and the config key", () => {
    assert.throws(
      () => podNetns(spec([{ type: "pid" }, { type: "mount" }]), "tcfilter", "sb1"),
      (err: unknown) =>
        err instanceof HakoError &&
        err.code === Code.InvalidArgument &&
        /sandbox sb1/.test(err.message) &&
        /host's network namespace/.test(err.message) &&
        /runtime\.internetworking_model = "none"/.test(err.message),
    );
  });

  it("with internetworking_model none never wires anything, host network included", () => {
    assert.deepEqual(podNetns(spec([]), "none", "sb"), { kind: "empty" });
    assert.deepEqual(podNetns(spec([{ type: "network", path: "/x" }]), "none", "sb"), { kind: "empty" });
  });
});
