#!/usr/bin/env bash
# Installs what ser-webgpu needs on a fresh Debian (bookworm) machine with no GPU:
#  - Mesa's lavapipe 25 (CPU Vulkan driver) from bookworm-backports: Dawn refuses bookworm's own Mesa 22.3,
#    and lavapipe measured 30-45x faster than Chromium's SwiftShader on our GEMM at 256^3 (see README, "Adapter").
#  - Debian's chromium, for the browser tests (driven by playwright-core).
#  - Debian's python3-torch (PyTorch, CPU), for the tests of `ser export --format pytorch` against PyTorch
#    (test/export.test.ts, test/export-ddp.test.ts call /usr/bin/python3).
#  - the npm dependencies (onnxruntime-node's CPU build only).
# Idempotent; run as root or with sudo available. Writes no host name: the backports line reuses the
# mirror URI of the machine's existing apt sources.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[5-9]'; then
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    mirror=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | head -n1 | awk '{print $2}')
    [ -n "$mirror" ] || mirror=$(grep -hs '^deb ' /etc/apt/sources.list | grep -v security | head -n1 | awk '{print $2}')
    [ -n "$mirror" ] || { echo "setup: no Debian mirror found in /etc/apt sources" >&2; exit 1; }
    echo "deb $mirror bookworm-backports main" | sudo_ tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
  fi
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
fi
if [ ! -x /usr/bin/chromium ]; then
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi
# onnxruntime-node (the ONNX export's tests) bundles its CPU binaries; its install script would also fetch CUDA
# ones from outside the npm registry, which this skips.
export ONNXRUNTIME_NODE_INSTALL=skip
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
