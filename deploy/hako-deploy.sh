#!/bin/sh
# The DaemonSet's entry point (hako-deploy.yaml): installs hako onto the node whose root is mounted at /host, waits,
# and on termination (the DaemonSet deleted) uninstalls it again, restoring containerd's config.
set -eu
root=/host
artifacts=/opt/hako-artifacts
# containerd runs on the node: restart it in the node's mount namespace (the pod shares the node's pid namespace).
restart="nsenter --target 1 --mount -- systemctl restart containerd"

hako() { "$artifacts/bin/hako" "$@"; }

hako install --root "$root" --assets "$artifacts/assets" --restart-command "$restart"
trap 'hako uninstall --root "$root" --restart-command "$restart"; exit 0' TERM INT
echo "hako installed on the node; waiting (delete the DaemonSet to uninstall)"
while :; do sleep 3600 & wait $!; done
