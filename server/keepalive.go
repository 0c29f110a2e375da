package server

import (
	"log/slog"
	"net"
	"time"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/server/config"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/types/known/durationpb"
)

// keepaliveOptions are the data plane's HTTP/2 keepalive settings (the
// config's keepalive section; see the README's "Mobile networks"):
//
//   - The gateway pings a connection that sent nothing for ping_interval and
//     closes it when the answer does not come within ping_timeout, which
//     frees the streams and buffers of a phone that left its network in the
//     middle of a call. The kernel gives up on unacknowledged data after
//     ping_timeout too (TCP_USER_TIMEOUT, set by userTimeoutListener).
//   - A connection without calls for max_connection_idle gets a GOAWAY:
//     a vanished phone that had no call running costs nothing after that.
//   - Clients may ping every min_client_ping_interval, with or without calls
//     (other clients than ours may keep idle connections alive); pinging
//     more often earns a GOAWAY "too_many_pings", so a broken or hostile
//     client cannot make the gateway answer a flood of pings.
func keepaliveOptions(k *configv1.Keepalive) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             durationOr(k.GetMinClientPingInterval(), config.DefaultMinClientPingInterval),
			PermitWithoutStream: true,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: durationOr(k.GetMaxConnectionIdle(), config.DefaultMaxConnectionIdle),
			Time:              durationOr(k.GetPingInterval(), config.DefaultPingInterval),
			Timeout:           pingTimeout(k),
		}),
	}
}

// pingTimeout is keepalive.ping_timeout.
func pingTimeout(k *configv1.Keepalive) time.Duration {
	return durationOr(k.GetPingTimeout(), config.DefaultPingTimeout)
}

func durationOr(d *durationpb.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.AsDuration()
}

// userTimeoutListener sets TCP_USER_TIMEOUT to timeout on every connection
// it accepts, before anything wraps it. gRPC sets the option itself, but
// only on a *net.TCPConn, and the data listener hands it connections wrapped
// for its budgets: without this, ping_timeout would never reach the socket.
func userTimeoutListener(lis net.Listener, timeout time.Duration, log *slog.Logger) net.Listener {
	return &userTimeoutLis{Listener: lis, timeout: timeout, log: log}
}

type userTimeoutLis struct {
	net.Listener
	timeout time.Duration
	log     *slog.Logger
}

func (l *userTimeoutLis) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if err := setUserTimeout(tc, l.timeout); err != nil {
			l.log.Warn("cannot set TCP_USER_TIMEOUT", "remote", c.RemoteAddr().String(), "error", err.Error())
		}
	}
	return c, nil
}
