package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"google.golang.org/protobuf/proto"
)

// plan checks a batch against cur and returns the would-be snapshot at
// revision rev, whose written items carry the etag of rev, and the values to
// write in batch order (nil deletes). Both implementations share it, so that
// preconditions and batch rules mean the same everywhere.
func plan(cur *Snapshot, muts []Mutation, rev int64) (*Snapshot, []proto.Message, error) {
	etag := strconv.FormatInt(rev, 10)

	// The would-be state of each touched collection, keyed by name or id.
	touched := map[Kind]map[string]proto.Message{}
	seen := map[Kind]map[string]bool{}
	// Values to write, in batch order; nil deletes.
	writes := make([]proto.Message, len(muts))
	for i, m := range muts {
		spec, ok := kinds[m.Kind]
		if !ok {
			return nil, nil, fmt.Errorf("store: mutation %d: unknown kind %d", i, int(m.Kind))
		}
		name := fmt.Sprintf("%s/%s", m.Kind, m.Key)
		if m.Key == "" {
			return nil, nil, fmt.Errorf("store: mutation %d (%s): empty key", i, m.Kind)
		}
		if m.IfAbsent && m.IfEtag != "" {
			return nil, nil, fmt.Errorf("store: %s: both IfAbsent and IfEtag", name)
		}
		if m.IfAbsent && m.Value == nil {
			return nil, nil, fmt.Errorf("store: %s: IfAbsent on a delete", name)
		}
		if seen[m.Kind] == nil {
			seen[m.Kind] = map[string]bool{}
		}
		if seen[m.Kind][m.Key] {
			return nil, nil, fmt.Errorf("store: %s: named twice in one batch", name)
		}
		seen[m.Kind][m.Key] = true
		if m.Value != nil {
			key, ok := spec.key(m.Value)
			if !ok {
				return nil, nil, fmt.Errorf("store: %s: value is a %T", name, m.Value)
			}
			if key != m.Key {
				return nil, nil, fmt.Errorf("store: %s: value names %q", name, key)
			}
		}
		items := touched[m.Kind]
		if items == nil {
			items = index(cur, m.Kind)
			touched[m.Kind] = items
		}
		old, exists := items[m.Key]
		switch {
		case m.IfAbsent && exists:
			return nil, nil, fmt.Errorf("%s: %w", name, ErrExists)
		case !exists && (m.IfEtag != "" || m.Value == nil):
			return nil, nil, fmt.Errorf("%s: %w", name, ErrNotFound)
		case m.IfEtag != "" && spec.etag(old) != m.IfEtag:
			return nil, nil, fmt.Errorf("%s: %w", name, ErrConflict)
		}
		if m.Value == nil {
			delete(items, m.Key)
			continue
		}
		v := proto.Clone(m.Value)
		spec.setEtag(v, etag)
		items[m.Key] = v
		writes[i] = v
	}

	next := &Snapshot{Revision: rev, Hosts: cur.Hosts, Rules: cur.Rules, Revocations: cur.Revocations}
	if items, ok := touched[KindHost]; ok {
		next.Hosts = sorted[*adminv1.Host](items)
	}
	if items, ok := touched[KindRule]; ok {
		next.Rules = sorted[*adminv1.Rule](items)
	}
	if items, ok := touched[KindRevocation]; ok {
		next.Revocations = sorted[*adminv1.Revocation](items)
	}
	return next, writes, nil
}

func index(s *Snapshot, k Kind) map[string]proto.Message {
	out := map[string]proto.Message{}
	switch k {
	case KindHost:
		for _, h := range s.Hosts {
			out[h.GetName()] = h
		}
	case KindRule:
		for _, r := range s.Rules {
			out[r.GetId()] = r
		}
	case KindRevocation:
		for _, r := range s.Revocations {
			out[r.GetId()] = r
		}
	}
	return out
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
