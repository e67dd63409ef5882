// Runs iproute2 (ip, tc) inside a pod network namespace given by path. Node is multithreaded, so setns from here is
// unreliable: nsenter enters the namespace and execs the tool. /sys stays the host's (as with nsenter generally),
// which ip and tc do not need: they speak netlink.
import { execFile } from "node:child_process";
import { Code, HakoError } from "../common/errors.js";

export interface NetnsRunner {
  /**
   * Runs `argv` inside the network namespace at `netns`; resolves with stdout.
   * @throws HakoError (Internal) naming the command and carrying its stderr when it exits non-zero
   */
  run(netns: string, argv: readonly string[]): Promise<string>;
}

export const nsenterRunner: NetnsRunner = {
  run(netns, argv) {
    return new Promise((resolve, reject) => {
      execFile("nsenter", [`--net=${netns}`, "--", ...argv], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const msg = stderr.trim() || err.message;
        reject(
          new HakoError(Code.Internal, `netns ${netns}: \`${argv.join(" ")}\` failed: ${msg}`, {
            cause: err,
            fields: { netns, stderr: msg },
          }),
        );
      });
    });
  },
};
