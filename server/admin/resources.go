package admin

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"

	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/resource"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// This file is the one implementation of the standard methods (list, get,
// create, update, delete) for every resource kind. The generated methods
// are one-line adapters (methods.go); what is specific to a kind is its
// validation (ResourceValidator), for revocations how a create request
// becomes the stored resource (revocation.go), and for kinds whose create or
// delete is more than one stored resource, their Lifecycle.

// ResourceValidator checks single resources of a kind before the whole
// snapshot, so that errors can name the request's own fields
// ("host.upstream"). A check reports paths as for the first entry of its
// collection in a config file ("hosts[0].upstream", a [*fieldpath.Error]);
// the service re-roots them onto the request. Kinds without a check are
// validated with the whole snapshot only.
type ResourceValidator map[resource.Kind]func(proto.Message) error

// Check adapts a typed check to a [ResourceValidator] entry.
func Check[T proto.Message](check func(T) error) func(proto.Message) error {
	return func(m proto.Message) error { return check(m.(T)) }
}

// Lifecycle is what a kind's create and delete do beyond storing or
// removing one resource: an enrollment token's create derives the stored
// token from the request and answers with a one-time secret the store never
// sees; a device's delete revokes its certificates in the same write. The
// server plugs them in (the admin package knows nothing about enrollment);
// nil fields keep the standard behaviour.
type Lifecycle struct {
	// Create turns a create request (the kind's generated request type)
	// into the resource to store, validated; caller is the admin's name.
	// After the write has committed, respond completes the response (the
	// stored resource is already set in it). Errors are gRPC statuses.
	Create func(ctx context.Context, caller string, req proto.Message) (stored proto.Message, respond func(stored, resp proto.Message) error, err error)
	// Delete returns further mutations for the write that deletes cur, the
	// stored resource at the etag the request names. Errors are statuses.
	Delete func(ctx context.Context, caller string, cur proto.Message) ([]store.Mutation, error)
}

// Lifecycles holds the kinds that have one.
type Lifecycles map[resource.Kind]Lifecycle

const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// op is one standard method: it reads req and fills resp, both of the
// generated types of kind k's method.
type op func(ctx context.Context, k resource.Kind, req, resp proto.Message) error

// call runs op with the typed request and response of one generated method.
func call[Resp proto.Message](ctx context.Context, run op, k resource.Kind, req proto.Message) (Resp, error) {
	var zero Resp
	resp := zero.ProtoReflect().New().Interface().(Resp)
	if err := run(ctx, k, req, resp); err != nil {
		return zero, err
	}
	return resp, nil
}

// list answers a page of kind k's collection, sorted by key.
func (s *Service) list(_ context.Context, k resource.Kind, req, resp proto.Message) error {
	snap := s.o.Store.Snapshot()
	page, next, err := paginate(snap.Items(k), k.KeyOf, int32(getInt(req, "page_size")), getString(req, "page_token"))
	if err != nil {
		return err
	}
	r := resp.ProtoReflect()
	items := r.Mutable(fieldOf(r, k.Collection())).List()
	for _, m := range page {
		items.Append(protoreflect.ValueOfMessage(proto.Clone(m).ProtoReflect()))
	}
	setString(resp, "next_page_token", next)
	setInt(resp, "revision", snap.Revision)
	return nil
}

// get answers the resource the request's key names.
func (s *Service) get(_ context.Context, k resource.Kind, req, resp proto.Message) error {
	m := s.o.Store.Snapshot().Get(k, getString(req, string(k.Key())))
	if m == nil {
		return status.Error(codes.NotFound, k.Singular()+" not found")
	}
	setMessage(resp, k.Singular(), proto.Clone(m))
	return nil
}

// create adds the request's resource; its key must be new.
func (s *Service) create(ctx context.Context, k resource.Kind, req, resp proto.Message) error {
	if lc := s.o.Lifecycles[k]; lc.Create != nil {
		return s.createWith(ctx, lc, k, req, resp)
	}
	in := getMessage(req, k.Singular())
	if in == nil {
		return invalid(k.Singular(), "required")
	}
	m, err := s.newResource(ctx, k, in)
	if err != nil {
		return err
	}
	key := k.KeyOf(m)
	snap, err := s.apply(ctx, k, resource.Create, store.Mutation{Kind: k, Key: key, Value: m, IfAbsent: true})
	if err != nil {
		return err
	}
	setMessage(resp, k.Singular(), proto.Clone(snap.Get(k, key)))
	return nil
}

// createWith is create for a kind with its own Lifecycle.Create.
func (s *Service) createWith(ctx context.Context, lc Lifecycle, k resource.Kind, req, resp proto.Message) error {
	m, respond, err := lc.Create(ctx, IdentityFromContext(ctx).Name, req)
	if err != nil {
		return err
	}
	key := k.KeyOf(m)
	snap, err := s.apply(ctx, k, resource.Create, store.Mutation{Kind: k, Key: key, Value: m, IfAbsent: true})
	if err != nil {
		return err
	}
	stored := proto.Clone(snap.Get(k, key))
	setMessage(resp, k.Singular(), stored)
	return respond(stored, resp)
}

// newResource turns a create request's resource into the one to store.
func (s *Service) newResource(ctx context.Context, k resource.Kind, in proto.Message) (proto.Message, error) {
	if k == resource.Revocation {
		return s.newRevocation(ctx, in)
	}
	if k.Etag(in) != "" {
		return nil, invalid(k.Singular()+".etag", "must be empty on create")
	}
	return in, s.check(k, in)
}

// update changes the fields the mask names (all with an empty mask) of the
// resource the request names, based on the etag it carries.
func (s *Service) update(ctx context.Context, k resource.Kind, req, resp proto.Message) error {
	in := getMessage(req, k.Singular())
	if in == nil || k.KeyOf(in) == "" {
		return invalid(k.Singular()+"."+string(k.Key()), "required")
	}
	etag := k.Etag(in)
	if etag == "" {
		return invalid(k.Singular()+".etag", "required: send the etag you read")
	}
	key := k.KeyOf(in)
	cur := s.o.Store.Snapshot().Get(k, key)
	if cur == nil {
		return status.Error(codes.NotFound, k.Singular()+" not found")
	}
	mask, _ := getMessage(req, "update_mask").(*fieldmaskpb.FieldMask)
	m, err := applyMask(cur, in, mask, k.Singular(), string(k.Key()), "etag")
	if err != nil {
		return err
	}
	k.SetEtag(m, "")
	if err := s.check(k, m); err != nil {
		return err
	}
	snap, err := s.apply(ctx, k, resource.Update, store.Mutation{Kind: k, Key: key, Value: m, IfEtag: etag})
	if err != nil {
		return err
	}
	setMessage(resp, k.Singular(), proto.Clone(snap.Get(k, key)))
	return nil
}

// delete removes the resource the request names, based on its etag.
func (s *Service) delete(ctx context.Context, k resource.Kind, req, resp proto.Message) error {
	key, etag := getString(req, string(k.Key())), getString(req, "etag")
	if key == "" {
		return invalid(string(k.Key()), "required")
	}
	if etag == "" {
		return invalid("etag", "required: send the etag you read")
	}
	var more []store.Mutation
	if lc := s.o.Lifecycles[k]; lc.Delete != nil {
		// The further mutations follow from the version the etag names;
		// the write below fails unless that is still the stored one.
		cur := s.o.Store.Snapshot().Get(k, key)
		switch {
		case cur == nil:
			return status.Error(codes.NotFound, k.Singular()+" not found")
		case k.Etag(cur) != etag:
			return status.Error(codes.Aborted, "etag mismatch: the resource was changed by someone else; read it again")
		}
		var err error
		if more, err = lc.Delete(ctx, IdentityFromContext(ctx).Name, cur); err != nil {
			return err
		}
	}
	snap, err := s.apply(ctx, k, resource.Delete, store.Mutation{Kind: k, Key: key, IfEtag: etag}, more...)
	if err != nil {
		return err
	}
	setInt(resp, "revision", snap.Revision)
	return nil
}

// check runs the kind's validator on one resource and names the request's
// fields in its errors ("hosts[0].upstream" becomes "host.upstream").
func (s *Service) check(k resource.Kind, m proto.Message) error {
	check := s.o.Resources[k]
	if check == nil {
		return nil
	}
	if err := check(m); err != nil {
		err = fieldpath.Reroot(err, fieldpath.Path(k.Collection()).Index(0), fieldpath.Path(k.Singular()))
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return nil
}

func invalid(field, msg string) error {
	return status.Error(codes.InvalidArgument, field+": "+msg)
}

func pageSize(n int32) int {
	switch {
	case n <= 0:
		return defaultPageSize
	case n > maxPageSize:
		return maxPageSize
	}
	return int(n)
}

// paginate returns the page of a key-sorted list after the key in token.
func paginate[T any](items []T, key func(T) string, size int32, token string) ([]T, string, error) {
	start := 0
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", invalid("page_token", "invalid")
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > string(after) })
	}
	n := pageSize(size)
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next, nil
}

// applyMask returns cur with the fields named in mask copied from in; an
// empty mask replaces every field. The immutable fields (the key and etag)
// are never copied.
func applyMask(cur, in proto.Message, mask *fieldmaskpb.FieldMask, prefix string, immutable ...string) (proto.Message, error) {
	if len(mask.GetPaths()) == 0 {
		return proto.Clone(in), nil
	}
	out := proto.Clone(cur)
	src, dst := in.ProtoReflect(), out.ProtoReflect()
	fields := dst.Descriptor().Fields()
	for _, p := range mask.GetPaths() {
		fd := fields.ByName(protoreflect.Name(p))
		if fd == nil {
			fd = fields.ByJSONName(p)
		}
		if fd == nil {
			return nil, invalid("update_mask", fmt.Sprintf("unknown field %q (top-level fields of %s only)", p, prefix))
		}
		if slices.Contains(immutable, string(fd.Name())) {
			// The key selects the resource and the etag is the precondition;
			// grpc-gateway puts both into a mask it derives from a PATCH
			// body, so they are skipped rather than refused.
			continue
		}
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		} else {
			dst.Clear(fd)
		}
	}
	return out, nil
}

// The requests and responses of the standard methods follow one pattern
// (package resource checks it against the API), so their fields are read
// and written by name.

func fieldOf(m protoreflect.Message, name string) protoreflect.FieldDescriptor {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		panic(fmt.Sprintf("admin: %s has no field %s", m.Descriptor().FullName(), name))
	}
	return fd
}

func getString(m proto.Message, name string) string {
	r := m.ProtoReflect()
	return r.Get(fieldOf(r, name)).String()
}

func getInt(m proto.Message, name string) int64 {
	r := m.ProtoReflect()
	return r.Get(fieldOf(r, name)).Int()
}

// getMessage returns the message field name of m, or nil when it is unset.
func getMessage(m proto.Message, name string) proto.Message {
	r := m.ProtoReflect()
	fd := fieldOf(r, name)
	if !r.Has(fd) {
		return nil
	}
	return r.Get(fd).Message().Interface()
}

func setString(m proto.Message, name, v string) {
	r := m.ProtoReflect()
	r.Set(fieldOf(r, name), protoreflect.ValueOfString(v))
}

func setInt(m proto.Message, name string, v int64) {
	r := m.ProtoReflect()
	r.Set(fieldOf(r, name), protoreflect.ValueOfInt64(v))
}

func setMessage(m proto.Message, name string, v proto.Message) {
	r := m.ProtoReflect()
	r.Set(fieldOf(r, name), protoreflect.ValueOfMessage(v.ProtoReflect()))
}
