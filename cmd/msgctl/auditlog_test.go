package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/server/admin"
	"github.com/msg-gateway/msg/store"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// jsonlTrail is an audit trail as a gateway leaves it: the JSON-lines
// mirror of a real store's audit writer, the witness file its checkpoints
// were appended to, the log's verifier key, and the real admin service on
// that store, over grpc-gateway on 127.0.0.1.
type jsonlTrail struct {
	lines   []string
	witness string
	key     string
	url     string
	dir     string      // the store's directory
	st      *store.Bolt // open until the test ends
}

// writeJSONLTrail writes n records through a real store in batches of ten,
// a checkpoint after each batch. The store stays open, serving the admin
// API, until the test ends.
func writeJSONLTrail(t *testing.T, n int) jsonlTrail {
	t.Helper()
	dir := t.TempDir()
	sinkPath, witnessPath := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "witness")
	sink, err := os.OpenFile(sinkPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	witness, err := os.OpenFile(witnessPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = witness.Close() })
	// As audit.witness.file does, but before the store's flush returns.
	appendNote := func(note []byte) { _, _ = witness.Write(append(append([]byte(nil), note...), '\n')) }
	s, err := store.Open(filepath.Join(dir, "data"), store.Options{
		AuditSink: sink, AuditMaxAge: -1, AuditCheckpointInterval: time.Nanosecond, OnAuditCheckpoint: appendNote,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	info, err := s.AuditLog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 10 {
		var batch []*adminv1.AuditRecord
		for j := i; j < min(i+10, n); j++ {
			batch = append(batch, &adminv1.AuditRecord{
				Time: timestamppb.New(testNow.Add(time.Duration(j) * time.Second)), Kind: adminv1.RecordKind_RECORD_KIND_FORWARD,
				RequestId: fmt.Sprintf("req-%03d", j), Principal: "alice", Host: "demo.internal", Method: "GET",
				Path: fmt.Sprintf("/items/%d", j), Decision: adminv1.Decision_DECISION_DENY, Code: "PermissionDenied",
			})
		}
		s.AppendAudit(batch...)
		if err := s.FlushAudit(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(sinkPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines in the JSON-lines file, want %d", len(lines), n)
	}
	return jsonlTrail{lines: lines, witness: witnessPath, key: info.VerifierKey, url: serveAdmin(t, s), dir: filepath.Join(dir, "data"), st: s}
}

// serveAdmin serves the real admin service on s over grpc-gateway on
// 127.0.0.1 and returns its URL.
func serveAdmin(t *testing.T, s store.Store) string {
	t.Helper()
	mux := runtime.NewServeMux()
	if err := adminv1.RegisterAdminServiceHandlerServer(t.Context(), mux, admin.NewService(admin.ServiceOptions{Store: s})); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// editLine changes one field of a JSON line.
func editLine(t *testing.T, line, field string, value any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	m[field] = value
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestAuditVerifyJSONLines changes a JSON-lines export the ways someone who
// can write it could, and checks that "msgctl audit verify --file" names the
// first bad record and exits 1: with the gateway's checkpoints and stored
// hashes, and with --offline, only the witness's file and the pinned key.
func TestAuditVerifyJSONLines(t *testing.T) {
	t.Parallel()
	trail := writeJSONLTrail(t, 100)
	for _, tc := range []struct {
		name   string
		tamper func(lines []string) []string
		want   int64 // -1: verifies
	}{
		{"untouched", func(l []string) []string { return l }, -1},
		{"edited", func(l []string) []string {
			l[37] = editLine(t, l[37], "decision", "DECISION_ALLOW")
			return l
		}, 37},
		{"deleted", func(l []string) []string { return slices.Delete(l, 50, 51) }, 50},
		{"inserted", func(l []string) []string {
			forged := editLine(t, l[20], "principal", "forged")
			return slices.Insert(l, 20, forged)
		}, 20},
		{"inserted, the indexes after it renumbered", func(l []string) []string {
			for i := 20; i < len(l); i++ {
				l[i] = editLine(t, l[i], "index", fmt.Sprint(i+1))
			}
			forged := editLine(t, l[20], "request_id", "req-forged")
			return slices.Insert(l, 20, editLine(t, forged, "index", "20"))
		}, 20},
		{"reordered", func(l []string) []string {
			l[70], l[71] = l[71], l[70]
			return l
		}, 70},
		{"reordered, indexes swapped back", func(l []string) []string {
			a, b := editLine(t, l[71], "index", "70"), editLine(t, l[70], "index", "71")
			l[70], l[71] = a, b
			return l
		}, 70},
		{"truncated", func(l []string) []string { return l[:90] }, 90},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lines := tc.tamper(slices.Clone(trail.lines))
			file := writeFile(t, "audit.jsonl", strings.Join(lines, "\n")+"\n")
			online := []string{"--addr", trail.url, "--token", testToken, "audit", "verify", "--file", file, "--log-key", trail.key}
			offline := []string{"audit", "verify", "--offline", "--file", file, "--log-key", trail.key, "--checkpoint", trail.witness}
			for _, args := range [][]string{online, offline} {
				r := execCLI(t, "", nil, append(args, "-o", "json")...)
				var resp adminv1.VerifyAuditLogResponse
				decodeJSON(t, r.stdout, &resp)
				if tc.want < 0 {
					if r.code != 0 || !resp.GetOk() || resp.GetTreeSize() != 100 || resp.GetVerifiedSize() != 100 {
						t.Fatalf("%v: exit %d: %+v\nstderr: %s", args, r.code, &resp, r.stderr)
					}
					continue
				}
				// With the gateway's hashes the first bad record is exact;
				// offline, with only the checkpoints, it is the first of the
				// records between two checkpoints (every ten here), or where
				// the indexes first skip.
				want, exact := tc.want, !slices.Contains(args, "--offline")
				if r.code != 1 || resp.GetOk() || (exact && resp.GetFirstBadIndex() != want) ||
					(!exact && (resp.GetFirstBadIndex() < want/10*10 || resp.GetFirstBadIndex() > want+1)) {
					t.Fatalf("%v: exit %d, first bad %d (%s), want exit 1 and first bad %d\nstderr: %s",
						args, r.code, resp.GetFirstBadIndex(), resp.GetProblem(), want, r.stderr)
				}
				if !exact {
					continue
				}
				// The table says the same for people.
				r = execCLI(t, "", nil, args...)
				if prefix := fmt.Sprintf("FAILED: first bad record %d:", want); r.code != 1 || !strings.HasPrefix(r.stdout, prefix) {
					t.Fatalf("exit %d, stdout %q, want it to start with %q", r.code, r.stdout, prefix)
				}
			}
		})
	}
}

// TestAuditVerifyNeedsTheRightKey checks that a witness file signed by
// another log's key is refused rather than believed.
func TestAuditVerifyNeedsTheRightKey(t *testing.T) {
	t.Parallel()
	a, b := writeJSONLTrail(t, 10), writeJSONLTrail(t, 10)
	file := writeFile(t, "audit.jsonl", strings.Join(a.lines, "\n")+"\n")
	r := execCLI(t, "", nil, "audit", "verify", "--offline", "--file", file, "--log-key", a.key, "--checkpoint", b.witness)
	if r.code == 0 {
		t.Fatalf("checkpoints of another log accepted:\n%s", r.stdout)
	}
	r = execCLI(t, "", nil, "audit", "verify", "--offline", "--file", file, "--log-key", b.key, "--checkpoint", b.witness)
	if r.code == 0 {
		t.Fatalf("records of another instance accepted:\n%s", r.stdout)
	}
}

// TestAuditVerifyStoreWithWitness truncates a stopped gateway's store
// together with the checkpoints that covered the deleted records: "msgctl
// audit verify" finds nothing wrong from the store alone, and with the
// witness's file (--checkpoint, sent in the VerifyAuditLog request) names
// the first missing record.
func TestAuditVerifyStoreWithWitness(t *testing.T) {
	t.Parallel()
	trail := writeJSONLTrail(t, 100)
	if err := trail.st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(trail.dir, store.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	u64 := func(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }
	err = db.Update(func(tx *bolt.Tx) error {
		records, index := tx.Bucket([]byte("audit")), tx.Bucket([]byte("audit_index"))
		for i := int64(90); i < 100; i++ {
			if err := records.Delete(index.Get(u64(i))); err != nil {
				return err
			}
			if err := index.Delete(u64(i)); err != nil {
				return err
			}
		}
		if err := tx.Bucket([]byte("audit_checkpoints")).Delete(u64(100)); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("audit_size"), u64(90))
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(trail.dir, store.Options{AuditMaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	url := serveAdmin(t, s)
	args := []string{"--addr", url, "--token", testToken, "audit", "verify", "--log-key", trail.key, "-o", "json"}

	r := execCLI(t, "", nil, args...)
	var resp adminv1.VerifyAuditLogResponse
	decodeJSON(t, r.stdout, &resp)
	if r.code != 0 || !resp.GetOk() || resp.GetTreeSize() != 90 {
		t.Fatalf("without the witness: exit %d, %+v", r.code, &resp)
	}
	r = execCLI(t, "", nil, append(args, "--checkpoint", trail.witness)...)
	decodeJSON(t, r.stdout, &resp)
	if r.code != 1 || resp.GetOk() || resp.GetFirstBadIndex() != 90 {
		t.Fatalf("with the witness: exit %d, %+v", r.code, &resp)
	}
}
