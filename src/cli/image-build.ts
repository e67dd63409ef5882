// `hako image build`: arguments in, one call to the image builder (src/image/build.ts) out.
import { Command } from "@commander-js/extra-typings";
import { DEFAULT_AGENT_BUNDLE } from "../image/agent-bundle.js";
import { buildImage, DEFAULT_ASSETS_DIR, parseExtraFile } from "../image/build.js";
import { DEFAULT_KERNEL_PACKAGE } from "../image/kernel-package.js";
import { KERNEL_SOURCE_PACKAGE } from "../image/kernel-source.js";
import { createProgress } from "../image/progress.js";
import { cliLogger } from "./cli-log.js";

const collect = (value: string, previous: string[]) => [...previous, value];

export function imageBuildCommand(): Command<[], Record<string, unknown>> {
  return new Command("build")
    .description("build the guest kernel, initrd and root image into the assets directory")
    .option("-o, --output <dir>", "assets directory", DEFAULT_ASSETS_DIR)
    .option("--if-changed", "do nothing when manifest.json matches the current inputs and assets", false)
    .option(
      "--initrd-only",
      "build the initrd-only boot variant as well: hako-initrd-full.img, the whole root in one initrd that boots with -initrd and no root image (the kernel, initrd and root image are still built)",
      false,
    )
    .option(
      "--kernel-package <name>",
      `use a Debian kernel package (or a .deb file) instead of hako's own kernel (built from ${KERNEL_SOURCE_PACKAGE}), e.g. ${DEFAULT_KERNEL_PACKAGE}`,
    )
    .option(
      "--modules <list>",
      "with --kernel-package: comma-separated kernel modules replacing the default list (+a,b adds to it)",
    )
    .option("--extra-file <src:dest>", "copy a host file into the root image (repeatable)", collect, [] as string[])
    .option("--agent <file>", `agent bundle to install (default: ${DEFAULT_AGENT_BUNDLE})`)
    .option(
      "--no-snapshot",
      "do not boot the image to make the agent's V8 startup snapshot (the agent then starts from its bundle)",
    )
    .option(
      "--cache <dir>",
      "download and unpack cache (default $HAKO_CACHE_DIR, else /var/cache/hako as root, ~/.cache/hako otherwise)",
    )
    .action(async (opts) => {
      const log = cliLogger();
      await buildImage({
        outputDir: opts.output,
        ifChanged: opts.ifChanged,
        initrdOnly: opts.initrdOnly,
        ...(opts.kernelPackage === undefined ? {} : { kernelPackage: opts.kernelPackage }),
        extraFiles: opts.extraFile.map(parseExtraFile),
        ...(opts.modules === undefined ? {} : { modules: opts.modules.split(",") }),
        ...(opts.agent === undefined ? {} : { agent: opts.agent }),
        ...(opts.cache === undefined ? {} : { cacheDir: opts.cache }),
        snapshot: opts.snapshot,
        log,
        progress: createProgress(log),
      });
    });
}

export function imageCommand(): Command<[], Record<string, unknown>> {
  return new Command("image").description("manage the guest image").addCommand(imageBuildCommand());
}
