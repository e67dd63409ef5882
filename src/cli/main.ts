// The `hako` command line: a table of verbs, each defined in its own file under src/cli/. Failures are printed as
// one line on stderr (`hako: error: …`) with the error's gRPC code name, and exit non-zero; a command line that does
// not parse says where the help is and exits 2 (usage-errors.ts).
import { Command } from "@commander-js/extra-typings";
import { VERSION } from "../common/version.js";
import { checkCommand } from "./check/command.js";
import { errorLine } from "./cli-log.js";
import { envCommand } from "./env.js";
import { execCommand } from "./exec.js";
import { factoryCommand } from "./factory.js";
import { imageCommand } from "./image-build.js";
import { installCommand, uninstallCommand } from "./install.js";
import { logsCommand } from "./logs.js";
import { monitorCommand } from "./monitor.js";
import { psCommand } from "./ps.js";
import { commanderExit, reportUsageErrors } from "./usage-errors.js";

/** Add new verbs here (one file each). */
const verbs = [
  imageCommand,
  checkCommand,
  envCommand,
  psCommand,
  logsCommand,
  execCommand,
  monitorCommand,
  installCommand,
  uninstallCommand,
  factoryCommand,
];

export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command("hako")
    .description("hako: a secure container runtime, one VM per pod")
    .version(VERSION, "-V, --version", "print hako's version");
  // Options after a verb belong to it, so `hako exec SANDBOX ls -l` passes -l to ls.
  program.enablePositionalOptions();
  for (const verb of verbs) program.addCommand(verb());
  reportUsageErrors(program);
  try {
    await program.parseAsync([...argv], { from: "user" });
    // A verb that passes on another program's status (`hako exec`) sets process.exitCode.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    const exit = commanderExit(err);
    if (exit !== undefined) return exit; // commander already printed the help, the version or the usage error
    process.stderr.write(errorLine(err));
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
