package store

import (
	"slices"
	"sort"
	"strings"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/resource"
	"google.golang.org/protobuf/proto"
)

// Kind says which resource a [Mutation] writes: one of the kinds package
// resource declares. Its String is the collection name ("hosts"), which
// names the resource in errors ("hosts/demo.internal: ..."), the bbolt
// bucket and the etcd key prefix.
type Kind = resource.Kind

// Shorthands for the kinds.
const (
	// KindHost: Key is Host.name, Value a *adminv1.Host.
	KindHost = resource.Host
	// KindRule: Key is Rule.id, Value a *adminv1.Rule.
	KindRule = resource.Rule
	// KindRevocation: Key is Revocation.id, Value a *adminv1.Revocation.
	KindRevocation = resource.Revocation
	// KindEnrollmentToken: Key is EnrollmentToken.id, Value a
	// *adminv1.EnrollmentToken.
	KindEnrollmentToken = resource.EnrollmentToken
	// KindDevice: Key is Device.id, Value a *adminv1.Device.
	KindDevice = resource.Device
)

// collection is how a kind's items sit in a [Snapshot]: a typed slice
// sorted by key, which the data plane reads without conversions.
type collection struct {
	len func(*Snapshot) int
	at  func(*Snapshot, int) proto.Message
	// set replaces the kind's slice with items, sorted by key.
	set func(*Snapshot, map[string]proto.Message)
}

// collections binds every kind to its field of Snapshot; index is the Kind.
// TestEveryKindHasACollection catches a kind declared without one.
var collections = [...]collection{
	KindHost:            field(func(s *Snapshot) *[]*adminv1.Host { return &s.Hosts }),
	KindRule:            field(func(s *Snapshot) *[]*adminv1.Rule { return &s.Rules }),
	KindRevocation:      field(func(s *Snapshot) *[]*adminv1.Revocation { return &s.Revocations }),
	KindEnrollmentToken: field(func(s *Snapshot) *[]*adminv1.EnrollmentToken { return &s.EnrollmentTokens }),
	KindDevice:          field(func(s *Snapshot) *[]*adminv1.Device { return &s.Devices }),
}

func field[T proto.Message](f func(*Snapshot) *[]T) collection {
	return collection{
		len: func(s *Snapshot) int { return len(*f(s)) },
		at:  func(s *Snapshot, i int) proto.Message { return (*f(s))[i] },
		set: func(s *Snapshot, items map[string]proto.Message) { *f(s) = sorted[T](items) },
	}
}

func sorted[T proto.Message](items map[string]proto.Message) []T {
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = items[k].(T)
	}
	return out
}

// kinds returns the kinds the store keeps.
func kinds() []Kind { return resource.All() }

// Len returns how many items of kind k the snapshot holds.
func (s *Snapshot) Len(k Kind) int { return collections[k].len(s) }

// Items returns the snapshot's items of kind k, sorted by key. The slice is
// new; the messages are shared (never mutate them).
func (s *Snapshot) Items(k Kind) []proto.Message {
	c := collections[k]
	out := make([]proto.Message, c.len(s))
	for i := range out {
		out[i] = c.at(s, i)
	}
	return out
}

// Position returns the index of the item of kind k with the given key in
// the sorted collection, and whether there is one.
func (s *Snapshot) Position(k Kind, key string) (int, bool) {
	c := collections[k]
	n := c.len(s)
	i := sort.Search(n, func(i int) bool { return k.KeyOf(c.at(s, i)) >= key })
	return i, i < n && k.KeyOf(c.at(s, i)) == key
}

// Get returns the item of kind k with the given key, or nil.
func (s *Snapshot) Get(k Kind, key string) proto.Message {
	if i, ok := s.Position(k, key); ok {
		return collections[k].at(s, i)
	}
	return nil
}

// index returns the snapshot's items of kind k by key, for a batch to edit.
func (s *Snapshot) index(k Kind) map[string]proto.Message {
	c := collections[k]
	out := make(map[string]proto.Message, c.len(s))
	for i := range c.len(s) {
		m := c.at(s, i)
		out[k.KeyOf(m)] = m
	}
	return out
}

// count returns how many items of every kind the snapshot holds.
func (s *Snapshot) count() int {
	n := 0
	for _, k := range kinds() {
		n += s.Len(k)
	}
	return n
}

// seedBatch is the batch that writes the config file's hosts and rules.
func seedBatch(hosts []*adminv1.Host, rules []*adminv1.Rule) []Mutation {
	return append(puts(KindHost, hosts), puts(KindRule, rules)...)
}

func puts[T proto.Message](k Kind, items []T) []Mutation {
	muts := make([]Mutation, 0, len(items))
	for _, m := range items {
		muts = append(muts, Mutation{Kind: k, Key: k.KeyOf(m), Value: m})
	}
	return muts
}
