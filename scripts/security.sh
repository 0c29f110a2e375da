#!/usr/bin/env bash
# make security: scan the TLS posture of the dev gateway with testssl.sh and
# fail on anything weaker than docs/SECURITY.md promises (see
# scripts/testsslcheck). Installs testssl.sh from Debian's packages when it is
# missing. Only 127.0.0.1 is scanned; the gateway is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."

# The Debian package pinned here (bookworm). Its testssl.sh (3.0.8) has no
# --mtls option: the client certificate goes to OpenSSL through a wrapper.
TESTSSL_DEB_VERSION="${TESTSSL_DEB_VERSION:-3.0.8+dfsg-1}"
GO="${GO:-go}"

log() { printf '[security] %s\n' "$*"; }

install_testssl() {
	if command -v testssl >/dev/null 2>&1; then
		return
	fi
	log "installing testssl.sh=${TESTSSL_DEB_VERSION} from Debian's packages"
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 || { log "testssl.sh is missing and this is not root: apt-get install testssl.sh=${TESTSSL_DEB_VERSION}"; exit 1; }
		sudo="sudo"
	fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "testssl.sh=${TESTSSL_DEB_VERSION}" >/dev/null
}

start=$(date +%s)
install_testssl
installed=$(dpkg-query -W -f='${Version}' testssl.sh 2>/dev/null || echo unknown)
[ "$installed" = "$TESTSSL_DEB_VERSION" ] || log "note: testssl.sh ${installed} is installed, the pinned version is ${TESTSSL_DEB_VERSION}"

work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# Build first, so that the PID below is the gateway's own (go run would put
# the go command in between).
log "building msg-gateway"
"$GO" build -o "$work/msg-gateway" ./cmd/msg-gateway

"$work/msg-gateway" dev --dir "$work/dev" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
	>"$work/banner.txt" 2>"$work/gateway.log" &
pid=$!
addr=""
for _ in $(seq 1 300); do
	addr=$(sed -n 's/^ *gRPC (mTLS) *\(127\.0\.0\.1:[0-9][0-9]*\).*/\1/p' "$work/banner.txt" | head -n1)
	[ -n "$addr" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/gateway.log"; log "the dev gateway exited"; exit 1; }
	sleep 0.2
done
[ -n "$addr" ] || { cat "$work/gateway.log"; log "the dev gateway did not start"; exit 1; }
log "dev gateway (pid $pid) listening on $addr"

# The dev client certificate (alice), for the checks that complete a
# handshake. testssl.sh's own socket checks read the ServerHello only.
# Connections also offer ALPN h2 unless testssl.sh asks for a protocol
# itself, as every real client of the gateway does: grpc-go closes a
# connection without h2 right after the handshake, and testssl.sh 3.0.8
# takes that quick close_notify (s_client exiting 0 before its "R" is
# processed) for a successful client-initiated renegotiation. With h2 the
# renegotiation attempt is answered with a fatal alert.
cat "$work/dev/alice.pem" "$work/dev/alice-key.pem" >"$work/alice-mtls.pem"
cat >"$work/openssl" <<EOF
#!/bin/sh
case " \$* " in
*" -connect "*" -alpn "*|*" -alpn "*" -connect "*) exec openssl "\$@" -cert "$work/alice-mtls.pem" -key "$work/alice-mtls.pem" ;;
*" -connect "*) exec openssl "\$@" -cert "$work/alice-mtls.pem" -key "$work/alice-mtls.pem" -alpn h2 ;;
esac
exec openssl "\$@"
EOF
chmod +x "$work/openssl"

log "running testssl.sh: protocols, cipher categories, forward secrecy and curves, ciphers per protocol, vulnerabilities"
scan_start=$(date +%s)
# Exit status: testssl.sh counts findings; the verdict is testsslcheck's.
(cd "$work" && testssl --quiet --color 0 --warnings off --connect-timeout 10 --openssl-timeout 10 \
	--openssl "$work/openssl" --jsonfile "$work/testssl.json" \
	--protocols --std --fs --cipher-per-proto --vulnerable "$addr" >"$work/testssl.txt" 2>&1) || true
scan_end=$(date +%s)
if [ ! -s "$work/testssl.json" ]; then
	cat "$work/testssl.txt"
	log "testssl.sh wrote no report"
	exit 1
fi
if [ -n "${SECURITY_REPORT_DIR:-}" ]; then
	mkdir -p "$SECURITY_REPORT_DIR"
	cp "$work/testssl.json" "$work/testssl.txt" "$SECURITY_REPORT_DIR/"
fi

status=0
"$GO" run ./scripts/testsslcheck "$work/testssl.json" || status=$?

kill "$pid" && wait "$pid" 2>/dev/null || true
pid=""
log "scan $((scan_end - scan_start))s, total $(( $(date +%s) - start ))s"
if [ "$status" -ne 0 ]; then
	cat "$work/testssl.txt"
	exit "$status"
fi
