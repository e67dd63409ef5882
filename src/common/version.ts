// hako's version, as every binary reports it (`hako --version`, the shim's -v, hako-runtime's): package.json's,
// put in by the bundler (scripts/bundle.mjs defines HAKO_VERSION); "dev" when run from the sources under tsx.

declare const HAKO_VERSION: string | undefined;

export const VERSION: string = typeof HAKO_VERSION === "string" ? HAKO_VERSION : "dev";
