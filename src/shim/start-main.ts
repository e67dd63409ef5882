// Entry of the shim binary for `start` alone (bin/containerd-shim-hako-v2 picks it when containerd's last argument is
// `start`): containerd runs `start` for every container, and this bundle leaves out the Task service, protobuf and
// runtime code that only the long-lived shim (`serve`, main.ts) needs, so each `start` loads in a fraction of the time.
import { runShim } from "./shim-cli.js";
import { start } from "./start.js";

void runShim({ start });
