package admin

import (
	"context"

	"github.com/msg-gateway/msg/authz"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// LiveState is what the data plane decides with at one moment: the compiled
// policy and host table of one store snapshot, and the limits that bound an
// inner request. It is immutable.
type LiveState struct {
	// Revision is the store revision the state was compiled from.
	Revision int64
	// Policy is the compiled policy; nil denies everything.
	Policy *authz.Policy
	// HasHost reports whether a canonical host is in the host table; nil
	// means an empty table.
	HasHost func(host string) bool
	// HostOptions are the hosts' choices about the inner requests they
	// accept (path parameters, extra methods), as in the data plane.
	HostOptions authz.HostOptionsFunc
	// Limits bound the inner request's head, as in the data plane.
	Limits authz.Limits
}

// DataPlane hands the admin service the state the data plane serves right
// now. The server implements it; admin never imports the server.
type DataPlane interface {
	LiveState() LiveState
}

// DataPlaneFunc adapts a function to [DataPlane].
type DataPlaneFunc func() LiveState

// LiveState implements [DataPlane].
func (f DataPlaneFunc) LiveState() LiveState { return f() }

// storeHealth is the optional part of a store that can be unreachable (etcd
// in fleet mode).
type storeHealth interface {
	Health() store.Health
}

// describeStore fills the status fields about the store, the revision the
// data plane serves and the caller.
func (s *Service) describeStore(ctx context.Context, resp *adminv1.GetStatusResponse) {
	id := IdentityFromContext(ctx)
	resp.Caller, resp.CallerRole = id.Name, id.Role.String()
	resp.Store, resp.StoreConnected = "embedded", true
	if h, ok := s.o.Store.(storeHealth); ok {
		health := h.Health()
		resp.Store, resp.StoreConnected = "etcd", health.Connected
		if !health.Since.IsZero() {
			resp.StoreConnectedChangeTime = timestamppb.New(health.Since)
		}
	}
	resp.ServingRevision = resp.GetRevision()
	if s.o.DataPlane != nil {
		resp.ServingRevision = s.o.DataPlane.LiveState().Revision
	}
}
