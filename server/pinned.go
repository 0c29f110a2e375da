package server

import (
	"context"
	"fmt"
	"maps"
	"slices"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/server/admin"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// PinnedPrincipal is the audit trail's principal of the writes
// [Options.PinUpstreams] makes.
const PinnedPrincipal = "msg-gateway"

// pinUpstreams points the stored hosts that Options.PinUpstreams names at
// their pinned upstream. Each change is an admin write through svc: checked
// against the whole configuration and audited, under [PinnedPrincipal]. The
// data plane serves the result at once.
func (s *Server) pinUpstreams(svc *admin.Service) error {
	if len(s.opts.PinUpstreams) == 0 {
		return nil
	}
	ctx := admin.WithIdentity(context.Background(), admin.Identity{Name: PinnedPrincipal, Role: admin.RoleEditor})
	changed := false
	for _, name := range slices.Sorted(maps.Keys(s.opts.PinUpstreams)) {
		upstream := s.opts.PinUpstreams[name]
		h := s.store.Snapshot().Host(name)
		if h == nil || h.GetUpstream() == upstream {
			continue
		}
		_, err := svc.UpdateHost(ctx, &adminv1.UpdateHostRequest{
			Host:       &adminv1.Host{Name: name, Upstream: upstream, Etag: h.GetEtag()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"upstream"}},
		})
		if err != nil {
			return fmt.Errorf("pointing host %s at %s: %s", name, upstream, status.Convert(err).Message())
		}
		s.log.Info("pinned upstream", "host", name, "upstream", upstream)
		changed = true
	}
	if !changed {
		return nil
	}
	next, err := s.served.compile(s.store.Snapshot())
	if err != nil {
		return err
	}
	s.served.apply(next)
	return nil
}
