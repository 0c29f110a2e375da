package store_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// auditRecords returns n records one second apart from base, alternating
// principals, hosts, decisions and kinds so that each filter selects a
// known subset.
func auditRecords(n int) []*adminv1.AuditRecord {
	out := make([]*adminv1.AuditRecord, n)
	for i := range out {
		r := &adminv1.AuditRecord{
			Time:      timestamppb.New(base.Add(time.Duration(i) * time.Second)),
			RequestId: fmt.Sprintf("req-%03d", i),
			Kind:      adminv1.RecordKind_RECORD_KIND_FORWARD,
			Principal: []string{"alice", "bob", "carol"}[i%3],
			Host:      []string{"demo.internal", "hr.internal"}[i%2],
			Method:    "GET",
			Path:      "/x",
			Decision:  adminv1.Decision_DECISION_ALLOW,
			Code:      "OK",
		}
		if i%4 == 3 {
			r.Decision = adminv1.Decision_DECISION_DENY
			r.Code = "PermissionDenied"
		}
		if i%5 == 4 {
			r.Kind = adminv1.RecordKind_RECORD_KIND_ADMIN
			r.AdminAction = "CreateRule"
		}
		out[i] = r
	}
	return out
}

func cloneRecords(in []*adminv1.AuditRecord) []*adminv1.AuditRecord {
	out := make([]*adminv1.AuditRecord, len(in))
	for i, r := range in {
		out[i] = proto.Clone(r).(*adminv1.AuditRecord)
	}
	return out
}

func flush(t testing.TB, s store.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.FlushAudit(ctx); err != nil {
		t.Fatalf("FlushAudit: %v", err)
	}
}

func requestIDs(recs []*adminv1.AuditRecord) string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = strings.TrimPrefix(r.GetRequestId(), "req-")
	}
	return strings.Join(ids, ",")
}

// queryAll follows page tokens to the end and returns every record.
func queryAll(t *testing.T, s store.Store, q store.AuditQuery) (recs []*adminv1.AuditRecord, pages int) {
	t.Helper()
	for {
		page, next, err := s.QueryAudit(context.Background(), q)
		if err != nil {
			t.Fatalf("QueryAudit(%+v): %v", q, err)
		}
		recs = append(recs, page...)
		pages++
		if next == "" {
			return recs, pages
		}
		if pages > 1000 {
			t.Fatal("pagination does not end")
		}
		q.PageToken = next
	}
}

func TestAuditQueryFilters(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), store.Options{AuditMaxAge: -1})
	all := auditRecords(20)
	s.AppendAudit(cloneRecords(all)...)
	flush(t, s)

	// want computes the expected ids newest first from the predicate.
	want := func(keep func(i int, r *adminv1.AuditRecord) bool) string {
		var ids []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(i, all[i]) {
				ids = append(ids, fmt.Sprintf("%03d", i))
			}
		}
		return strings.Join(ids, ",")
	}
	tests := []struct {
		name string
		q    store.AuditQuery
		keep func(i int, r *adminv1.AuditRecord) bool
	}{
		{"everything", store.AuditQuery{}, func(int, *adminv1.AuditRecord) bool { return true }},
		{"principal", store.AuditQuery{Principal: "bob"}, func(_ int, r *adminv1.AuditRecord) bool { return r.Principal == "bob" }},
		{"host", store.AuditQuery{Host: "hr.internal"}, func(_ int, r *adminv1.AuditRecord) bool { return r.Host == "hr.internal" }},
		{"decision", store.AuditQuery{Decision: adminv1.Decision_DECISION_DENY}, func(_ int, r *adminv1.AuditRecord) bool { return r.Decision == adminv1.Decision_DECISION_DENY }},
		{"kind", store.AuditQuery{Kind: adminv1.RecordKind_RECORD_KIND_ADMIN}, func(_ int, r *adminv1.AuditRecord) bool { return r.Kind == adminv1.RecordKind_RECORD_KIND_ADMIN }},
		{"start inclusive", store.AuditQuery{Start: base.Add(15 * time.Second)}, func(i int, _ *adminv1.AuditRecord) bool { return i >= 15 }},
		{"end exclusive", store.AuditQuery{End: base.Add(5 * time.Second)}, func(i int, _ *adminv1.AuditRecord) bool { return i < 5 }},
		{"window", store.AuditQuery{Start: base.Add(3 * time.Second), End: base.Add(9 * time.Second)}, func(i int, _ *adminv1.AuditRecord) bool { return i >= 3 && i < 9 }},
		{"combined", store.AuditQuery{Principal: "alice", Host: "demo.internal", Start: base.Add(2 * time.Second)},
			func(i int, r *adminv1.AuditRecord) bool {
				return r.Principal == "alice" && r.Host == "demo.internal" && i >= 2
			}},
		{"nothing matches", store.AuditQuery{Principal: "mallory"}, func(int, *adminv1.AuditRecord) bool { return false }},
		{"empty window", store.AuditQuery{Start: base.Add(time.Hour)}, func(int, *adminv1.AuditRecord) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next, err := s.QueryAudit(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if next != "" {
				t.Errorf("next page token %q on a complete result", next)
			}
			if g, w := requestIDs(got), want(tt.keep); g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}

	// Stored records are the appended ones, field for field, plus their
	// place in the instance's log.
	info, err := s.AuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := s.QueryAudit(context.Background(), store.AuditQuery{PageSize: 1})
	stored := proto.Clone(all[19]).(*adminv1.AuditRecord)
	stored.Index, stored.Instance = proto.Int64(19), info.Instance
	if !proto.Equal(got[0], stored) || info.Instance == "" {
		t.Errorf("stored record differs:\n got %v\nwant %v", got[0], stored)
	}
}

func TestAuditPagination(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), store.Options{AuditMaxAge: -1})
	all := auditRecords(25)
	s.AppendAudit(cloneRecords(all)...)
	flush(t, s)

	tests := []struct {
		name      string
		q         store.AuditQuery
		wantPages int
		wantN     int
	}{
		{"exact pages", store.AuditQuery{PageSize: 5}, 5, 25},
		{"short last page", store.AuditQuery{PageSize: 10}, 3, 25},
		{"one page", store.AuditQuery{PageSize: 25}, 1, 25},
		{"default size", store.AuditQuery{}, 1, 25},
		{"filtered", store.AuditQuery{Principal: "alice", PageSize: 3}, 3, 9},
		{"filtered window", store.AuditQuery{Host: "demo.internal", Start: base.Add(4 * time.Second), End: base.Add(20 * time.Second), PageSize: 2}, 4, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := queryAll(t, s, tt.q)
			if pages != tt.wantPages || len(got) != tt.wantN {
				t.Errorf("%d records in %d pages, want %d in %d", len(got), pages, tt.wantN, tt.wantPages)
			}
			q := tt.q
			q.PageSize = 1000
			whole, _, err := s.QueryAudit(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := requestIDs(got), requestIDs(whole); g != w {
				t.Errorf("pages joined:\n got %s\nwant %s", g, w)
			}
		})
	}

	// Records appended after the first page was read, newer than it, do
	// not disturb the following pages.
	page1, next, err := s.QueryAudit(context.Background(), store.AuditQuery{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	s.AppendAudit(&adminv1.AuditRecord{Time: timestamppb.New(base.Add(time.Hour)), RequestId: "req-new"})
	flush(t, s)
	page2, _, err := s.QueryAudit(context.Background(), store.AuditQuery{PageSize: 10, PageToken: next})
	if err != nil {
		t.Fatal(err)
	}
	if requestIDs(page1) != "024,023,022,021,020,019,018,017,016,015" || requestIDs(page2) != "014,013,012,011,010,009,008,007,006,005" {
		t.Errorf("pages %s / %s", requestIDs(page1), requestIDs(page2))
	}
}

func TestAuditScanBudget(t *testing.T) {
	// Not parallel: it changes a package variable.
	defer store.SetAuditScanLimit(4)()
	s := openStore(t, t.TempDir(), store.Options{AuditMaxAge: -1})
	all := auditRecords(30)
	s.AppendAudit(cloneRecords(all)...)
	flush(t, s)
	// "carol" matches every third record: pages come back short (possibly
	// empty) but with a token, and together they are complete.
	got, pages := queryAll(t, s, store.AuditQuery{Principal: "carol", PageSize: 100})
	if requestIDs(got) != "029,026,023,020,017,014,011,008,005,002" {
		t.Errorf("got %s", requestIDs(got))
	}
	if pages < 30/4 {
		t.Errorf("%d pages, want at least %d with a budget of 4", pages, 30/4)
	}
}

func TestAuditSameTimeKeepsArrivalOrder(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), store.Options{AuditMaxAge: -1})
	for i := range 5 {
		s.AppendAudit(&adminv1.AuditRecord{Time: timestamppb.New(base), RequestId: fmt.Sprintf("req-%03d", i)})
	}
	flush(t, s)
	got, _ := queryAll(t, s, store.AuditQuery{PageSize: 2})
	if requestIDs(got) != "004,003,002,001,000" {
		t.Errorf("got %s, want newest arrival first", requestIDs(got))
	}
}

func TestAuditInvalidPageToken(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), store.Options{})
	for _, tok := range []string{"%%%", "AAAA", strings.Repeat("A", 40)} {
		if _, _, err := s.QueryAudit(context.Background(), store.AuditQuery{PageToken: tok}); !errors.Is(err, store.ErrInvalidPageToken) {
			t.Errorf("token %q: err = %v, want ErrInvalidPageToken", tok, err)
		}
	}
}

func TestAuditRetentionByCount(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	opts := store.Options{AuditMaxRecords: 10, AuditMaxAge: -1}
	s := openStore(t, dir, opts)
	s.AppendAudit(cloneRecords(auditRecords(25))...)
	flush(t, s)
	got, _ := queryAll(t, s, store.AuditQuery{PageSize: 1000})
	if requestIDs(got) != "024,023,022,021,020,019,018,017,016,015" {
		t.Errorf("kept %s, want the 10 newest", requestIDs(got))
	}
	// The count survives a restart: three more records push out three.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, dir, opts)
	more := auditRecords(28)[25:]
	s2.AppendAudit(more...)
	flush(t, s2)
	got, _ = queryAll(t, s2, store.AuditQuery{PageSize: 1000})
	if requestIDs(got) != "027,026,025,024,023,022,021,020,019,018" {
		t.Errorf("after reopen kept %s", requestIDs(got))
	}
}

func TestAuditRetentionByAge(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), store.Options{AuditMaxAge: time.Hour})
	now := time.Now()
	for i, age := range []time.Duration{3 * time.Hour, 2 * time.Hour, 61 * time.Minute, 30 * time.Minute, time.Minute} {
		s.AppendAudit(&adminv1.AuditRecord{Time: timestamppb.New(now.Add(-age)), RequestId: fmt.Sprintf("req-%03d", i)})
	}
	flush(t, s)
	got, _ := queryAll(t, s, store.AuditQuery{})
	if requestIDs(got) != "004,003" {
		t.Errorf("kept %s, want the records younger than an hour", requestIDs(got))
	}
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestAuditSinkGetsOneJSONLinePerRecord(t *testing.T) {
	t.Parallel()
	var sink syncBuffer
	s := openStore(t, t.TempDir(), store.Options{AuditSink: &sink})
	info, err := s.AuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all := auditRecords(7)
	all[6].Time = nil // the writer stamps it
	s.AppendAudit(cloneRecords(all)...)
	flush(t, s)

	sc := bufio.NewScanner(strings.NewReader(sink.String()))
	var n int
	for ; sc.Scan(); n++ {
		line := sc.Bytes()
		var got adminv1.AuditRecord
		if err := protojson.Unmarshal(line, &got); err != nil {
			t.Fatalf("line %d is not a record: %v\n%s", n, err, line)
		}
		if !bytes.Contains(line, []byte(`"request_id"`)) {
			t.Errorf("line %d does not use proto field names: %s", n, line)
		}
		// Every line carries its index, record 0's too, and the instance.
		if !bytes.Contains(line, []byte(fmt.Sprintf(`"index":"%d"`, n))) || !bytes.Contains(line, []byte(`"instance":"`+info.Instance+`"`)) {
			t.Errorf("line %d lacks its index or instance: %s", n, line)
		}
		want := proto.Clone(all[n]).(*adminv1.AuditRecord)
		want.Index, want.Instance = proto.Int64(int64(n)), info.Instance
		if n == 6 {
			if got.GetTime() == nil {
				t.Error("record without time not stamped")
			}
			got.Time = nil
		}
		if !proto.Equal(&got, want) {
			t.Errorf("line %d:\n got %v\nwant %v", n, &got, want)
		}
	}
	if n != len(all) {
		t.Errorf("%d lines, want %d", n, len(all))
	}
}

func TestAuditCloseFlushesAndSurvivesReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := store.Open(dir, store.Options{AuditMaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.AppendAudit(cloneRecords(auditRecords(600))...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.AppendAudit(auditRecords(1)...) // after Close: dropped, not a panic
	if got := s.AuditDropped(); got != 1 {
		t.Errorf("AuditDropped = %d, want 1", got)
	}
	s2 := openStore(t, dir, store.Options{AuditMaxAge: -1})
	got, _ := queryAll(t, s2, store.AuditQuery{PageSize: 1000})
	if len(got) != 600 {
		t.Errorf("%d records after reopen, want 600", len(got))
	}
}

// blockingSink stalls the audit writer in its first Write until released.
type blockingSink struct {
	entered, release chan struct{}
	once             sync.Once
}

func (b *blockingSink) Write(p []byte) (int, error) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return len(p), nil
}

func TestAuditQueueFullDropsCountsAndLogs(t *testing.T) {
	t.Parallel()
	sink := &blockingSink{entered: make(chan struct{}), release: make(chan struct{})}
	var logs syncBuffer
	s, err := store.Open(t.TempDir(), store.Options{
		AuditQueueSize: 4,
		AuditMaxAge:    -1,
		AuditSink:      sink,
		Logger:         slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := auditRecords(11)
	s.AppendAudit(recs[0])
	flushed := make(chan error, 1)
	go func() { flushed <- s.FlushAudit(context.Background()) }()
	select {
	case <-sink.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("writer never reached the sink")
	}
	// The writer is stuck: four records fit in the queue, six are dropped,
	// and AppendAudit returns at once all the same.
	done := make(chan struct{})
	go func() {
		s.AppendAudit(recs[1:]...)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("AppendAudit blocked on a full queue")
	}
	if got := s.AuditDropped(); got != 6 {
		t.Errorf("AuditDropped = %d, want 6", got)
	}
	close(sink.release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	got, _ := queryAll(t, s, store.AuditQuery{})
	if requestIDs(got) != "004,003,002,001,000" {
		t.Errorf("stored %s, want the first five", requestIDs(got))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "records dropped") || !strings.Contains(logs.String(), "dropped=6") {
		t.Errorf("log does not report the drops:\n%s", logs.String())
	}
}

func TestAuditConcurrentAppendAndQuery(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), store.Options{AuditQueueSize: 10_000, AuditMaxAge: -1})
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 250 {
				s.AppendAudit(&adminv1.AuditRecord{Time: timestamppb.Now(), RequestId: fmt.Sprintf("%d-%d", w, i)})
				if i%50 == 0 {
					if _, _, err := s.QueryAudit(ctx, store.AuditQuery{PageSize: 10}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	flush(t, s)
	got, _ := queryAll(t, s, store.AuditQuery{PageSize: 1000})
	if len(got)+int(s.AuditDropped()) != 1000 {
		t.Errorf("stored %d + dropped %d, want 1000", len(got), s.AuditDropped())
	}
}
