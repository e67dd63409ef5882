// Unit specs for `hako check`'s port-forwarding rule (facts in, item out), and the probe itself, which adds hako's
// rule only in a network namespace of its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type PortForwardFacts, portForwardFacts, portForwardItem } from "./port-forward.js";

const all: PortForwardFacts = {
  nsenter: "/usr/bin/nsenter",
  iptables: "/usr/sbin/iptables",
  iptablesVersion: "iptables v1.8.9 (nf_tables)",
  rule: { ok: true },
};

test("nsenter and an iptables that adds the nat REDIRECT rule are ok", () => {
  const i = portForwardItem(all);
  assert.equal(i.status, "ok");
  assert.match(i.detail, /iptables v1\.8\.9 \(nf_tables\) adds hako's nat REDIRECT rule/);
});

test("a missing tool or a rule iptables cannot add warns that kubectl port-forward will not reach pods", () => {
  const noTools = portForwardItem({ ...all, nsenter: undefined, iptables: undefined, rule: undefined });
  assert.equal(noTools.status, "warn");
  assert.match(noTools.detail, /^nsenter and iptables not on PATH: pods run, but `kubectl port-forward`/);
  const noNat = portForwardItem({ ...all, rule: { ok: false, reason: "can't initialize iptables table `nat'" } });
  assert.equal(noNat.status, "warn");
  assert.match(noNat.detail, /cannot add hako's nat REDIRECT rule .*table `nat'/);
  assert.match(noNat.fix ?? "", /REDIRECT target, the comment match and conntrack/);
});

test("the probe finds nothing on an empty PATH and then tries no rule", async () => {
  assert.deepEqual(await portForwardFacts("/nonexistent"), {
    nsenter: undefined,
    iptables: undefined,
    iptablesVersion: undefined,
    rule: undefined,
  });
});
