package store

import (
	"testing"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/resource"
	"google.golang.org/protobuf/proto"
)

// TestEveryKindHasACollection fails when package resource declares a kind
// that Snapshot has no field for: bind it in collections.
func TestEveryKindHasACollection(t *testing.T) {
	t.Parallel()
	if got, want := len(collections), len(resource.All())+1; got != want {
		t.Fatalf("collections binds %d kinds, package resource declares %d", got-1, want-1)
	}
	s := &Snapshot{}
	for _, k := range resource.All() {
		c := collections[k]
		if c.len == nil || c.at == nil || c.set == nil {
			t.Fatalf("%s: no collection", k)
		}
		// The bound field holds the kind's messages.
		m := k.New()
		k.SetEtag(m, "1")
		c.set(s, map[string]proto.Message{"a": m})
		if s.Len(k) != 1 || !k.Is(s.Items(k)[0]) {
			t.Errorf("%s: the bound field holds %v", k, s.Items(k))
		}
	}
}

func TestSnapshotAccessors(t *testing.T) {
	t.Parallel()
	s := &Snapshot{Hosts: []*adminv1.Host{{Name: "a.internal"}, {Name: "c.internal"}}}
	for _, tc := range []struct {
		key    string
		pos    int
		exists bool
	}{
		{"a.internal", 0, true}, {"b.internal", 1, false}, {"c.internal", 1, true}, {"d.internal", 2, false},
	} {
		pos, ok := s.Position(KindHost, tc.key)
		if pos != tc.pos || ok != tc.exists {
			t.Errorf("Position(%q) = %d, %v; want %d, %v", tc.key, pos, ok, tc.pos, tc.exists)
		}
		if got := s.Get(KindHost, tc.key); (got != nil) != tc.exists {
			t.Errorf("Get(%q) = %v", tc.key, got)
		}
	}
	if s.Host("c.internal") != s.Hosts[1] || s.Host("b.internal") != nil || s.Rule("x") != nil || s.Revocation("x") != nil {
		t.Error("the typed accessors disagree with the collections")
	}
	if s.Len(KindHost) != 2 || s.Len(KindRule) != 0 || s.count() != 2 {
		t.Errorf("Len, count = %d, %d, %d", s.Len(KindHost), s.Len(KindRule), s.count())
	}
}
