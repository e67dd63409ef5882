// Logs links that appear in a pod netns after its VM started: hako does not hot-plug NICs, so such a link never
// reaches the guest, and an operator should see why. One `ip -o monitor link` per wired sandbox, stopped with it.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Logger } from "../common/log.js";
import { hakoDevice } from "./link-wiring.js";

export interface LinkWatch {
  stop(): void;
}

/** The link name of an `ip -o monitor link` line announcing a new link, or undefined for anything else. */
export function newLinkName(line: string): string | undefined {
  if (line.startsWith("Deleted")) return undefined;
  return /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
}

export function watchNewLinks(netns: string, known: readonly string[], logger: Logger): LinkWatch {
  const seen = new Set(known);
  let child: ChildProcess | undefined = spawn("nsenter", [`--net=${netns}`, "--", "ip", "-o", "monitor", "link"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  child.on("error", (err) => logger.warn("cannot watch the pod netns for new links", { netns, err }));
  if (child.stdout) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      const name = newLinkName(line);
      if (name === undefined || seen.has(name) || hakoDevice.test(name)) return;
      seen.add(name);
      logger.warn(
        "a link appeared in the pod netns after the sandbox started; hako does not hot-plug NICs, the VM will not see it",
        {
          netns,
          link: name,
        },
      );
    });
  }
  return {
    stop() {
      child?.kill("SIGTERM");
      child = undefined;
    },
  };
}
