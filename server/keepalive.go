package server

import (
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
//     middle of a call. gRPC also sets TCP_USER_TIMEOUT to ping_timeout.
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
			Timeout:           durationOr(k.GetPingTimeout(), config.DefaultPingTimeout),
		}),
	}
}

func durationOr(d *durationpb.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.AsDuration()
}
