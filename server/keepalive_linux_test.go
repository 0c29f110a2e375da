//go:build linux

package server_test

import (
	"crypto/tls"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/durationpb"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/server"
)

// TestPingTimeoutReachesTheSocket: keepalive.ping_timeout is the
// TCP_USER_TIMEOUT of the gateway's side of a data-plane connection, read
// back with getsockopt from the socket the gateway accepted (the gateway
// runs in this process), once the connection is established.
func TestPingTimeoutReachesTheSocket(t *testing.T) {
	t.Parallel()
	const timeout = 7 * time.Second // not a default
	g := startGatewayWith(t, nil, server.Options{DrainTimeout: time.Second},
		withKeepalive(&configv1.Keepalive{PingTimeout: durationpb.New(timeout)}))
	conn, err := net.DialTimeout("tcp", g.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	conf := g.clientConf(t, "alice")
	conf.ServerName, conf.NextProtos = "localhost", []string{"h2"}
	tc := tls.Client(conn, conf)
	// The gateway speaks first once gRPC serves the connection (HTTP/2
	// SETTINGS).
	if _, err := tc.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	fd := acceptedSocket(t, conn.RemoteAddr(), conn.LocalAddr())
	got, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
	if err != nil {
		t.Fatal(err)
	}
	if want := int(timeout / time.Millisecond); got != want {
		t.Errorf("TCP_USER_TIMEOUT of the gateway's socket: %d ms, want %d ms (keepalive.ping_timeout)", got, want)
	}
}

// acceptedSocket returns the descriptor of this process's socket whose own
// address is local and whose peer is remote: the server's side of a
// loopback connection.
func acceptedSocket(t *testing.T, local, remote net.Addr) int {
	t.Helper()
	want := func(a net.Addr) netip.AddrPort { return netip.MustParseAddrPort(a.String()) }
	addrOf := func(sa unix.Sockaddr) netip.AddrPort {
		switch sa := sa.(type) {
		case *unix.SockaddrInet4:
			return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
		case *unix.SockaddrInet6:
			return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
		}
		return netip.AddrPort{}
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		own, err := unix.Getsockname(fd)
		if err != nil || addrOf(own) != want(local) {
			continue
		}
		if peer, err := unix.Getpeername(fd); err == nil && addrOf(peer) == want(remote) {
			return fd
		}
	}
	t.Fatalf("no socket of this process connects %v to %v", local, remote)
	return -1
}
