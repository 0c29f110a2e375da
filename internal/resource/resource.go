// Package resource declares the admin API's resource kinds once: each kind's
// collection, message type and key field. Everything else about a kind is
// derived from that and from the AdminService descriptor (its RPCs, their
// request and response types, the REST path), so the store, the admin
// service and msgctl loop over [All] and keep only what is specific to one
// kind (a revocation's normalization, a host's validation, a table column).
//
// Every resource message has a string key field and a string field "etag";
// the etag is the store revision that last wrote the resource.
package resource

import (
	"fmt"
	"strings"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Kind is an admin resource kind. The zero Kind is invalid.
type Kind int

// The kinds.
const (
	// Host: an allow-listed internal host, keyed by name.
	Host Kind = iota + 1
	// Rule: an authorization rule, keyed by id.
	Rule
	// Revocation: a revoked client certificate, keyed by its derived id.
	// It is created and deleted, never updated, and has no get method.
	Revocation
	// EnrollmentToken: a one-time enrollment secret's token, keyed by the
	// id derived from the secret. Created and deleted, never updated.
	EnrollmentToken
	// Device: an enrolled device, keyed by id. Created by enrollment,
	// updated by renewal, deleted by an admin; the API has no create or
	// update.
	Device
)

// A kind's API has list and delete methods; get, create and update are
// optional (a device record, say, is created by enrollment, not by an
// admin). Callers ask [Kind.Method] which ones exist.

// spec is a kind's declaration.
type spec struct {
	// collection is the plural, snake_case: the store's collection, the
	// list response's field and (as JSON name) the REST path.
	collection string
	// message is the resource type.
	message proto.Message
	// key is the field that names a resource within its collection.
	key protoreflect.Name
}

// specs declares the kinds; index is the Kind.
var specs = [...]spec{
	Host:            {collection: "hosts", message: (*adminv1.Host)(nil), key: "name"},
	Rule:            {collection: "rules", message: (*adminv1.Rule)(nil), key: "id"},
	Revocation:      {collection: "revocations", message: (*adminv1.Revocation)(nil), key: "id"},
	EnrollmentToken: {collection: "enrollment_tokens", message: (*adminv1.EnrollmentToken)(nil), key: "id"},
	Device:          {collection: "devices", message: (*adminv1.Device)(nil), key: "id"},
}

// All returns every kind in declaration order.
func All() []Kind {
	out := make([]Kind, 0, len(specs)-1)
	for k := Host; int(k) < len(specs); k++ {
		out = append(out, k)
	}
	return out
}

// Valid reports whether k is a declared kind.
func (k Kind) Valid() bool { return k > 0 && int(k) < len(specs) }

// String returns the collection name ("hosts"), or "kind(N)" for an
// invalid kind.
func (k Kind) String() string {
	if !k.Valid() {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return specs[k].collection
}

// Collection returns the plural snake_case name: "hosts".
func (k Kind) Collection() string { return specs[k].collection }

// Name returns the resource message's name: "Host". RPCs and audit actions
// are a verb and this ("CreateHost").
func (k Kind) Name() string { return string(k.Descriptor().Name()) }

// Singular returns the snake_case name of one resource ("host"): the field
// of requests and responses that carries it, and the root of error paths
// about it ("host.upstream").
func (k Kind) Singular() string { return snake(k.Name()) }

// Key returns the key field's name: "name" for hosts.
func (k Kind) Key() protoreflect.Name { return specs[k].key }

// Descriptor returns the resource message's descriptor.
func (k Kind) Descriptor() protoreflect.MessageDescriptor {
	return specs[k].message.ProtoReflect().Descriptor()
}

// New returns an empty resource of the kind.
func (k Kind) New() proto.Message { return specs[k].message.ProtoReflect().New().Interface() }

// Is reports whether m is a resource of the kind.
func (k Kind) Is(m proto.Message) bool {
	return m != nil && m.ProtoReflect().Descriptor() == k.Descriptor()
}

// KeyOf returns m's key. m must be of the kind.
func (k Kind) KeyOf(m proto.Message) string { return stringField(m, k.Key()) }

// Etag returns m's etag.
func (k Kind) Etag(m proto.Message) string { return stringField(m, "etag") }

// SetEtag sets m's etag; "" clears it.
func (k Kind) SetEtag(m proto.Message, etag string) {
	r := m.ProtoReflect()
	r.Set(r.Descriptor().Fields().ByName("etag"), protoreflect.ValueOfString(etag))
}

func stringField(m proto.Message, name protoreflect.Name) string {
	r := m.ProtoReflect()
	return r.Get(r.Descriptor().Fields().ByName(name)).String()
}

// Verb is one of the standard methods a kind may have.
type Verb string

// The standard methods.
const (
	List   Verb = "List"
	Get    Verb = "Get"
	Create Verb = "Create"
	Update Verb = "Update"
	Delete Verb = "Delete"
)

// Verbs returns the standard methods in the order msgctl offers them.
func Verbs() []Verb { return []Verb{List, Get, Create, Update, Delete} }

// MethodName returns the RPC name of v for the kind: "ListHosts",
// "GetHost".
func (k Kind) MethodName(v Verb) string {
	if v == List {
		return string(v) + camel(k.Collection())
	}
	return string(v) + k.Name()
}

// Method returns the AdminService method of v for the kind, or nil when the
// API has none (revocations have no get and no update).
func (k Kind) Method(v Verb) protoreflect.MethodDescriptor {
	return service().Methods().ByName(protoreflect.Name(k.MethodName(v)))
}

// FullMethod returns the gRPC full method name of v ("/msg.admin.v1.AdminService/ListHosts").
func (k Kind) FullMethod(v Verb) string {
	return "/" + string(service().FullName()) + "/" + k.MethodName(v)
}

// Response returns a new, empty response message of v, or nil when the kind
// has no such method.
func (k Kind) Response(v Verb) proto.Message {
	md := k.Method(v)
	if md == nil {
		return nil
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		panic(fmt.Sprintf("resource: %s: %v", md.FullName(), err)) // the generated package registers it
	}
	return mt.New().Interface()
}

// RESTPath returns the REST collection's path: "/v1/hosts". Its last element
// is the JSON name of the list response's field ("/v1/enrollmentTokens" for
// a collection "enrollment_tokens").
func (k Kind) RESTPath() string {
	return "/v1/" + k.Method(List).Output().Fields().ByName(protoreflect.Name(k.Collection())).JSONName()
}

func service() protoreflect.ServiceDescriptor {
	return adminv1.File_msg_admin_v1_admin_proto.Services().ByName("AdminService")
}

// camel turns "enrollment_tokens" into "EnrollmentTokens".
func camel(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// snake turns "EnrollmentToken" into "enrollment_token".
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if 'A' <= r && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
