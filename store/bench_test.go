package store_test

import (
	"context"
	"strconv"
	"testing"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// BenchmarkApply measures one durable configuration write (an fsync per
// op) on a store holding 100 rules.
func BenchmarkApply(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, b.TempDir(), store.Options{})
	for i := range 100 {
		id := "r" + strconv.Itoa(i)
		if _, err := s.Apply(ctx, []store.Mutation{put(store.KindRule, id, rule(id, ""))}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		cur := s.Snapshot().Rule("r7")
		next := rule("r7", strconv.Itoa(i))
		if _, err := s.Apply(ctx, []store.Mutation{{Kind: store.KindRule, Key: "r7", Value: next, IfEtag: cur.GetEtag()}}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendAudit measures the audit path. "enqueue" is what Forward
// calls pay (no encoding, no I/O), from concurrent goroutines. "durable" includes writing the records
// to disk in batches of 512, the writer's batch size: its ns/op is the
// amortized cost of one record, including 1/512 of an fsync.
func BenchmarkAppendAudit(b *testing.B) {
	rec := func(i int) *adminv1.AuditRecord {
		return &adminv1.AuditRecord{
			Time:      timestamppb.Now(),
			RequestId: "0123456789abcdef",
			Kind:      adminv1.RecordKind_RECORD_KIND_FORWARD,
			Principal: "spiffe://example.org/app/ios",
			Host:      "demo.internal",
			Method:    "GET",
			Path:      "/api/v1/items/" + strconv.Itoa(i),
			Decision:  adminv1.Decision_DECISION_ALLOW,
			RuleId:    "alice-demo",
			Reason:    "allowed",
			Code:      "OK",
		}
	}
	b.Run("enqueue", func(b *testing.B) {
		// Producers here outrun any disk, so most records find the queue
		// full: dropped/op is an artifact of the loop. Queued or dropped,
		// the caller pays one non-blocking channel operation.
		s := openStore(b, b.TempDir(), store.Options{AuditMaxAge: -1, AuditMaxRecords: -1})
		recs := make([]*adminv1.AuditRecord, 1<<12)
		for i := range recs {
			recs[i] = rec(i)
		}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				s.AppendAudit(recs[i%len(recs)])
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(s.AuditDropped())/float64(b.N), "dropped/op")
	})
	b.Run("durable", func(b *testing.B) {
		s := openStore(b, b.TempDir(), store.Options{AuditMaxAge: -1, AuditMaxRecords: -1})
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			s.AppendAudit(rec(i))
			if i%512 == 511 {
				if err := s.FlushAudit(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := s.FlushAudit(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(s.AuditDropped())/float64(b.N), "dropped/op")
	})
	b.Run("one-per-commit", func(b *testing.B) {
		// The latency of a record written alone: a batch of one, its own
		// bolt commit (fsync) and, for the audit log, its leaf hash and the
		// tree's new frontier.
		s := openStore(b, b.TempDir(), store.Options{AuditMaxAge: -1, AuditMaxRecords: -1})
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s.AppendAudit(rec(i))
			if err := s.FlushAudit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
