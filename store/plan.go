package store

import (
	"fmt"
	"strconv"

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
		if err := checkMutation(i, m, seen); err != nil {
			return nil, nil, err
		}
		name := fmt.Sprintf("%s/%s", m.Kind, m.Key)
		items := touched[m.Kind]
		if items == nil {
			items = cur.index(m.Kind)
			touched[m.Kind] = items
		}
		old, exists := items[m.Key]
		switch {
		case m.IfAbsent && exists:
			return nil, nil, fmt.Errorf("%s: %w", name, ErrExists)
		case !exists && (m.IfEtag != "" || m.Value == nil):
			return nil, nil, fmt.Errorf("%s: %w", name, ErrNotFound)
		case m.IfEtag != "" && m.Kind.Etag(old) != m.IfEtag:
			return nil, nil, fmt.Errorf("%s: %w", name, ErrConflict)
		}
		if m.Value == nil {
			delete(items, m.Key)
			continue
		}
		v := proto.Clone(m.Value)
		m.Kind.SetEtag(v, etag)
		items[m.Key] = v
		writes[i] = v
	}

	next := *cur
	next.Revision = rev
	for k, items := range touched {
		collections[k].set(&next, items)
	}
	return &next, writes, nil
}

// checkMutation checks mutation i on its own and against the kinds and keys
// seen earlier in its batch.
func checkMutation(i int, m Mutation, seen map[Kind]map[string]bool) error {
	if !m.Kind.Valid() {
		return fmt.Errorf("store: mutation %d: unknown kind %d", i, int(m.Kind))
	}
	name := fmt.Sprintf("%s/%s", m.Kind, m.Key)
	switch {
	case m.Key == "":
		return fmt.Errorf("store: mutation %d (%s): empty key", i, m.Kind)
	case m.IfAbsent && m.IfEtag != "":
		return fmt.Errorf("store: %s: both IfAbsent and IfEtag", name)
	case m.IfAbsent && m.Value == nil:
		return fmt.Errorf("store: %s: IfAbsent on a delete", name)
	case seen[m.Kind][m.Key]:
		return fmt.Errorf("store: %s: named twice in one batch", name)
	case m.Value != nil && !m.Kind.Is(m.Value):
		return fmt.Errorf("store: %s: value is a %T", name, m.Value)
	case m.Value != nil && m.Kind.KeyOf(m.Value) != m.Key:
		return fmt.Errorf("store: %s: value names %q", name, m.Kind.KeyOf(m.Value))
	}
	if seen[m.Kind] == nil {
		seen[m.Kind] = map[string]bool{}
	}
	seen[m.Kind][m.Key] = true
	return nil
}
