// A KernelModules for unit tests: a kernel release and the modules it can load, without reading /lib/modules.
import type { KernelModules } from "./kernel-modules.js";

export function fakeKernelModules(loadable: readonly string[], release = "6.1.0-test"): KernelModules {
  const names = new Set(loadable.map((n) => n.replaceAll("-", "_")));
  return { release, loadable: (name) => names.has(name.replaceAll("-", "_")) };
}
