#!/usr/bin/env bash
# Set-up for a Debian 12 host, as root: host packages, npm dependencies, build, guest image, install on PATH.
# Idempotent: each step checks whether it is already done and is quick when it is.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "hako set-up must run as root (it installs packages and starts VMs)" >&2
  exit 1
fi

# Host packages: QEMU and virtiofsd, containerd + ctr and runc (end-to-end tests, demo, benchmark), crun (copied
# into the guest), busybox-static (guest and test images), e2fsprogs/cpio/lz4 (image build), Go + ttrpc/protobuf/containerd
# sources (interop and known-bytes tests against real Go peers), socat/iproute2/kmod/util-linux (tests and tools),
# linux-source-6.1 and what building it needs (hako's own guest kernel; `hako image build --kernel-package` uses
# Debian's kernel package instead), podman and docker.io (hako-runtime's end-to-end tests drive them),
# catatonit (podman's --init bind-mounts it into the container as PID 1; docker's --init uses docker.io's docker-init),
# python3-yaml (the deploy/ manifests' check; build-essential's gcc also builds the CRI tests' static pause binary).
PACKAGES=(qemu-system-x86 qemu-utils containerd crun runc busybox-static e2fsprogs cpio lz4 socat iproute2 kmod
  util-linux bsdextrautils golang-go golang-github-containerd-ttrpc-dev golang-google-protobuf-dev
  golang-github-gogo-protobuf-dev golang-github-containerd-containerd-dev golang-github-containerd-cgroups-dev
  containernetworking-plugins curl xz-utils linux-source-6.1 build-essential bc flex bison libelf-dev libssl-dev
  podman catatonit docker.io python3-yaml)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing host packages: ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

# npm dependencies: reinstall when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

log "building"
npm run --silent build

# Guest image: rebuilt only when its inputs changed (the builder compares its manifest). hako's kernel is built
# once per source version and config fragment into the cache (minutes on a small machine; niced).
log "guest image"
node bin/hako image build --if-changed

# Put the shim, the CLI and the OCI runtime on PATH (containerd finds `containerd-shim-hako-v2` there; podman and
# dockerd are given hako-runtime's path).
for b in hako containerd-shim-hako-v2 hako-runtime; do
  ln -sf "$PWD/bin/$b" "/usr/local/bin/$b"
done
log "ready"
