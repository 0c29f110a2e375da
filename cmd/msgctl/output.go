package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// writeJSON prints m as multiline protojson with every field present, so that
// scripts see a stable shape ("hosts": [] rather than no key at all).
func writeJSON(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// clean makes a string from the server safe to print on a terminal: anything
// that is not a printable character (control characters, escape sequences,
// bidi overrides, a tab that would break a table) turns the string into a
// quoted Go string literal.
func clean(s string) string {
	for _, r := range s {
		if !unicode.IsGraphic(r) {
			return strconv.QuoteToGraphic(s)
		}
	}
	return s
}

// table writes aligned columns; empty cells print as "-".
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	fmt.Fprintln(t.tw, strings.Join(header, "\t"))
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		} else {
			cells[i] = clean(c)
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

func formatDuration(d *durationpb.Duration) string {
	if d == nil {
		return ""
	}
	return d.AsDuration().String()
}

func formatTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format(time.RFC3339)
}

// shortEnum returns "allow" for EFFECT_ALLOW, "" for the zero value.
func shortEnum(name, prefix string) string {
	if strings.HasSuffix(name, "_UNSPECIFIED") {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}

// orAny shows an empty (match-everything) matcher list as "*".
func orAny(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

func formatPrincipal(p *adminv1.PrincipalMatcher) string {
	switch k := p.GetKind().(type) {
	case *adminv1.PrincipalMatcher_Any:
		if k.Any {
			return "any"
		}
		return "none"
	case *adminv1.PrincipalMatcher_Id:
		return "id:" + k.Id
	case *adminv1.PrincipalMatcher_CommonName:
		return "cn:" + k.CommonName
	case *adminv1.PrincipalMatcher_SpiffeId:
		return k.SpiffeId
	case *adminv1.PrincipalMatcher_TrustDomain:
		return "td:" + k.TrustDomain
	case *adminv1.PrincipalMatcher_Organization:
		return "o:" + k.Organization
	case *adminv1.PrincipalMatcher_OrganizationalUnit:
		return "ou:" + k.OrganizationalUnit
	case *adminv1.PrincipalMatcher_FingerprintSha256:
		return "fp:" + k.FingerprintSha256
	}
	return "?"
}

func formatPath(p *adminv1.PathMatcher) string {
	switch k := p.GetKind().(type) {
	case *adminv1.PathMatcher_Exact:
		return "exact:" + k.Exact
	case *adminv1.PathMatcher_Prefix:
		return "prefix:" + k.Prefix
	case *adminv1.PathMatcher_Glob:
		return "glob:" + k.Glob
	}
	return "?"
}

// writeAudit prints audit records. Admin records have no host, method or
// path; their action and target fill the METHOD and PATH columns. STATUS is
// the upstream's HTTP status when something was relayed, else the gRPC code
// the caller got.
func writeAudit(w io.Writer, records []*adminv1.AuditRecord) error {
	t := newTable(w, "TIME", "PRINCIPAL", "DECISION", "HOST", "METHOD", "PATH", "STATUS", "RULE")
	for _, r := range records {
		method, path := r.GetMethod(), r.GetPath()
		if r.GetKind() == adminv1.RecordKind_RECORD_KIND_ADMIN {
			method, path = r.GetAdminAction(), r.GetAdminTarget()
		}
		st := r.GetCode()
		if r.GetUpstreamStatus() != 0 {
			st = strconv.Itoa(int(r.GetUpstreamStatus()))
		}
		t.row(formatTime(r.GetTime()), r.GetPrincipal(), shortEnum(r.GetDecision().String(), "DECISION_"),
			r.GetHost(), method, path, st, r.GetRuleId())
	}
	return t.flush()
}

func writeStatus(w io.Writer, s *adminv1.GetStatusResponse) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	lines := []struct{ k, v string }{
		{"version", clean(s.GetVersion())},
		{"started", formatTime(s.GetStartTime())},
		{"uptime", (time.Duration(s.GetUptimeSeconds()) * time.Second).String()},
		{"revision", strconv.FormatInt(s.GetRevision(), 10)},
		{"hosts", strconv.Itoa(int(s.GetHostCount()))},
		{"rules", strconv.Itoa(int(s.GetRuleCount()))},
		{"revocations", strconv.Itoa(int(s.GetRevocationCount()))},
	}
	for _, l := range lines {
		fmt.Fprintf(tw, "%s:\t%s\n", l.k, l.v)
	}
	return tw.Flush()
}
