// The REDIRECT rule's argv, how hako's rule is found in `iptables -S` output, and that deleting it is idempotent
// (a recording NetnsRunner stands in for nsenter + iptables).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NetnsRunner } from "../network/netns-exec.js";
import { addRedirectRule, deleteRedirectRule, hasRule, ruleArgv } from "./redirect-rule.js";

/** A netns whose nat OUTPUT chain is a list of rule specs, changed by -A / -D as iptables would. */
function fakeIptables(): NetnsRunner & { calls: string[]; rules: string[] } {
  const rules: string[] = [];
  const calls: string[] = [];
  return {
    calls,
    rules,
    async run(netns, argv) {
      calls.push(`${netns}: ${argv.join(" ")}`);
      const [action, chain, ...rest] = argv.slice(4);
      const printed = () => {
        const port = rest.at(-1);
        return `-A ${chain} -d 127.0.0.1/32 -p tcp -m comment --comment "hako port-forward" -j REDIRECT --to-ports ${port}`;
      };
      if (action === "-S") return ["-P OUTPUT ACCEPT", ...rules].join("\n");
      if (action === "-A") rules.push(printed());
      if (action === "-D") {
        const i = rules.indexOf(printed());
        if (i < 0) throw new Error("iptables: Bad rule (does a matching rule exist in that chain?).");
        rules.splice(i, 1);
      }
      return "";
    },
  };
}

describe("port-forward REDIRECT rule", () => {
  it("redirects TCP to 127.0.0.1 in the nat table's OUTPUT chain, waiting for the xtables lock", () => {
    // One word per "|": the comment is a single argument with a space in it.
    const want =
      "iptables|-w|-t|nat|-A|OUTPUT|-p|tcp|-d|127.0.0.1/32|-m|comment|--comment|hako port-forward|-j|REDIRECT";
    assert.deepEqual(ruleArgv("-A", 40123), [...want.split("|"), "--to-ports", "40123"]);
    assert.deepEqual(ruleArgv("-D", 40123).slice(5), ruleArgv("-A", 40123).slice(5));
  });

  it("finds hako's rule to one port in iptables -S output, not another port's nor a foreign rule", () => {
    const listing = [
      "-P OUTPUT ACCEPT",
      "-A OUTPUT -d 127.0.0.1/32 -p tcp -j REDIRECT --to-ports 40123",
      '-A OUTPUT -d 127.0.0.1/32 -p tcp -m comment --comment "hako port-forward" -j REDIRECT --to-ports 401234',
    ].join("\n");
    assert.equal(hasRule(listing, 40123), false);
    assert.equal(
      hasRule(
        `${listing}\n-A OUTPUT -d 127.0.0.1/32 -p tcp -m comment --comment "hako port-forward" -j REDIRECT --to-ports 40123\n`,
        40123,
      ),
      true,
    );
  });

  it("deletes the rule once; a second delete finds none and runs no -D", async () => {
    const ipt = fakeIptables();
    await addRedirectRule(ipt, "/var/run/netns/pod", 40123);
    await addRedirectRule(ipt, "/var/run/netns/pod", 40999);
    assert.equal(await deleteRedirectRule(ipt, "/var/run/netns/pod", 40123), true);
    assert.equal(await deleteRedirectRule(ipt, "/var/run/netns/pod", 40123), false);
    assert.equal(ipt.rules.length, 1, "the other port's rule stays");
    assert.equal(ipt.calls.filter((c) => c.includes(" -D ")).length, 1);
  });
});
