#!/usr/bin/env bash
# make floods: the gateway binary as a child process under each flood of
# docs/SECURITY.md (compression bombs, zero-window readers, silent sockets,
# held streams, SETTINGS flood, rapid reset), one at a time, beside a
# legitimate client; prints a table of legitimate calls ok/failed, peak RSS
# growth, and RSS, heap and goroutines after the flood. Loopback only;
# every flood is bounded in count and time; the harness stops what it
# started by PID. Exits non-zero when a legitimate call failed.
#
#   FLOODS_ARGS=...  msgbench floods flags, e.g. "-only settings,rapid-reset -duration 5s -sockets 1000"
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
echo "[floods] building msg-gateway and msgbench"
"$GO" build -trimpath -o "$bin/msg-gateway" ./cmd/msg-gateway
(cd bench && "$GO" build -mod=mod -trimpath -o "$bin/msgbench" .)
echo "[floods] load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086 # FLOODS_ARGS is a list of flags
"$bin/msgbench" floods -gateway "$bin/msg-gateway" ${FLOODS_ARGS:-}
