#!/usr/bin/env bash
# `npm run demo` (after set-up): runs `uname -r` in a busybox container with runc, with hako (cold) and with hako from
# a VM template, and shows kernels and start times side by side. The TypeScript driver owns the private containerd
# (and the template) and tears them down on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "the demo must run as root (it starts containerd and VMs)" >&2
  exit 1
fi
exec node --import tsx scripts/demo.ts "$@"
