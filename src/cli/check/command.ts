// `hako check`: the commander wiring. Prints the report (text or --json) and exits non-zero when a check failed.
import { Command } from "@commander-js/extra-typings";
import { Code, HakoError } from "../../common/errors.js";
import { renderReport } from "./render.js";
import { runChecks } from "./run.js";

export function checkCommand() {
  return new Command("check")
    .description("check whether this host can run hako sandboxes, and how fast")
    .option("--json", "print the report as JSON", false)
    .option("-c, --config <path>", "configuration file (default: $HAKO_CONFIG, /etc/hako/configuration.toml)")
    .action(async (opts) => {
      const report = await runChecks(opts.config === undefined ? {} : { configPath: opts.config });
      process.stdout.write(
        opts.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report, process.stdout.isTTY),
      );
      if (!report.ok) {
        const failed = report.items.filter((i) => i.status === "fail").map((i) => i.id);
        // Thrown rather than setting exitCode: main() turns it into a one-line error and exit status 1.
        throw new HakoError(
          Code.FailedPrecondition,
          `this host cannot run sandboxes: failed checks: ${failed.join(", ")}`,
        );
      }
    });
}
