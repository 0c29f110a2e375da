package main

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/pki"
	"github.com/msg-gateway/msg/internal/resource"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// testNow is "now" for --since.
var testNow = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

type result struct {
	stdout, stderr string
	code           int
}

// execCLI runs one command line with the given stdin and environment. Every
// run checks that the token never reaches the output.
func execCLI(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr strings.Builder
	c := &cli{
		stdin:  strings.NewReader(stdin),
		stdout: &stdout,
		stderr: &stderr,
		env:    func(k string) string { return env[k] },
		now:    func() time.Time { return testNow },
	}
	code := c.run(context.Background(), args)
	return checkNoToken(t, args, result{stdout: stdout.String(), stderr: stderr.String(), code: code})
}

// execRun runs one command line through run, the entry point main uses.
func execRun(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr strings.Builder
	code := run(args, &stdout, &stderr, func(k string) string { return env[k] })
	return checkNoToken(t, args, result{stdout: stdout.String(), stderr: stderr.String(), code: code})
}

func checkNoToken(t *testing.T, args []string, r result) result {
	t.Helper()
	for _, secret := range []string{testToken, "wrong-token-b9"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("msgctl %s printed the token:\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
		}
	}
	return r
}

// ctl runs msgctl against s with the right token.
func ctl(t *testing.T, s *adminServer, args ...string) result {
	t.Helper()
	return execCLI(t, "", nil, append([]string{"--addr", s.url, "--token", testToken}, args...)...)
}

// ctlIn is ctl with stdin.
func ctlIn(t *testing.T, s *adminServer, stdin string, args ...string) result {
	t.Helper()
	return execCLI(t, stdin, nil, append([]string{"--addr", s.url, "--token", testToken}, args...)...)
}

func (r result) ok(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

func (r result) fails(t *testing.T, code int, stderrRE string) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	if !regexp.MustCompile(stderrRE).MatchString(r.stderr) {
		t.Fatalf("stderr does not match %q:\n%s", stderrRE, r.stderr)
	}
	if code != 0 && r.stdout != "" {
		t.Errorf("stdout not empty on failure: %q", r.stdout)
	}
	return r
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fields splits a table into rows of whitespace-separated cells.
func fields(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}

func wantRows(t *testing.T, out string, want ...[]string) {
	t.Helper()
	got := fields(out)
	if len(got) != len(want) {
		t.Fatalf("table has %d rows, want %d:\n%s", len(got), len(want), out)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("row %d = %q, want %q\n%s", i, got[i], want[i], out)
		}
	}
}

func decodeJSON(t *testing.T, out string, m proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal([]byte(out), m); err != nil {
		t.Fatalf("stdout is not a %s: %v\n%s", m.ProtoReflect().Descriptor().Name(), err, out)
	}
}

func wantRequests(t *testing.T, s *adminServer, want ...string) {
	t.Helper()
	got := s.log.take()
	if len(got) != len(want) {
		t.Fatalf("requests = %q, want %d matching %q", got, len(want), want)
	}
	for i := range want {
		if !regexp.MustCompile("^" + want[i] + "$").MatchString(got[i]) {
			t.Errorf("request %d = %q, want %q", i, got[i], want[i])
		}
	}
}

const hostYAML = `# a host, with the config file's keys
name: demo.internal
upstream: http://10.0.0.5:8080
timeout: 1m30s
max_request_body_bytes: 1_048_576
tls:
  server_name: demo.corp
`

func TestHosts(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	s.fake.pageMax = 1 // every list below needs several pages

	r := ctl(t, s, "hosts", "list").ok(t)
	wantRows(t, r.stdout, []string{"NAME", "UPSTREAM", "TIMEOUT", "ETAG"})
	s.log.take()

	r = ctl(t, s, "hosts", "create", "-f", writeFile(t, "host.yaml", hostYAML)).ok(t)
	wantRows(t, r.stdout,
		[]string{"NAME", "UPSTREAM", "TIMEOUT", "ETAG"},
		[]string{"demo.internal", "http://10.0.0.5:8080", "1m30s", "1"})
	wantRequests(t, s, `POST /v1/hosts`)
	got := s.host("demo.internal")
	want := &adminv1.Host{Name: "demo.internal", Upstream: "http://10.0.0.5:8080", Timeout: durationpb.New(90 * time.Second),
		MaxRequestBodyBytes: 1 << 20, Tls: &adminv1.BackendTLS{ServerName: "demo.corp"}, Etag: "1"}
	if !proto.Equal(got, want) {
		t.Fatalf("stored %v, want %v", got, want)
	}

	// JSON output of create is the CreateHostResponse.
	r = ctl(t, s, "-o", "json", "hosts", "create", "-f", writeFile(t, "h.json", `{"name": "api.internal", "upstream": "https://10.0.0.6"}`)).ok(t)
	var created adminv1.CreateHostResponse
	decodeJSON(t, r.stdout, &created)
	if created.GetHost().GetName() != "api.internal" || created.GetHost().GetEtag() != "2" {
		t.Errorf("create -o json = %v", &created)
	}

	r = ctl(t, s, "hosts", "get", "demo.internal").ok(t)
	wantRows(t, r.stdout,
		[]string{"NAME", "UPSTREAM", "TIMEOUT", "ETAG"},
		[]string{"demo.internal", "http://10.0.0.5:8080", "1m30s", "1"})
	r = ctl(t, s, "hosts", "get", "demo.internal", "-o", "json").ok(t)
	var gotHost adminv1.GetHostResponse
	decodeJSON(t, r.stdout, &gotHost)
	if !proto.Equal(gotHost.GetHost(), want) {
		t.Errorf("get -o json = %v, want %v", gotHost.GetHost(), want)
	}
	if !strings.Contains(r.stdout, `"maxRequestBodyBytes"`) || !strings.Contains(r.stdout, "\n  ") {
		t.Errorf("get -o json is not multiline protojson with JSON names:\n%s", r.stdout)
	}

	s.log.take()
	r = ctl(t, s, "hosts", "list").ok(t)
	wantRows(t, r.stdout,
		[]string{"NAME", "UPSTREAM", "TIMEOUT", "ETAG"},
		[]string{"api.internal", "https://10.0.0.6", "-", "2"},
		[]string{"demo.internal", "http://10.0.0.5:8080", "1m30s", "1"})
	wantRequests(t, s, `GET /v1/hosts\?pageSize=1000`, `GET /v1/hosts\?pageSize=1000&pageToken=1`)
	r = ctl(t, s, "hosts", "list", "-o", "json").ok(t)
	var list adminv1.ListHostsResponse
	decodeJSON(t, r.stdout, &list)
	if len(list.GetHosts()) != 2 || list.GetNextPageToken() != "" || list.GetRevision() != 2 {
		t.Errorf("list -o json = %v", &list)
	}

	// update --mask changes only the named fields; the etag is read first.
	s.log.take()
	r = ctl(t, s, "hosts", "update", "demo.internal", "--mask", "timeout,maxRequestBodyBytes", "-f",
		writeFile(t, "t.yaml", "timeout: 45s\nupstream: http://ignored:1\n")).ok(t)
	wantRows(t, r.stdout,
		[]string{"NAME", "UPSTREAM", "TIMEOUT", "ETAG"},
		[]string{"demo.internal", "http://10.0.0.5:8080", "45s", "3"})
	wantRequests(t, s, `GET /v1/hosts/demo.internal`, `PATCH /v1/hosts/demo.internal\?updateMask=timeout%2Cmax_request_body_bytes`)
	if h := s.host("demo.internal"); h.GetMaxRequestBodyBytes() != 0 || h.GetTls().GetServerName() != "demo.corp" {
		t.Errorf("after masked update: %v", h)
	}

	// update without --mask replaces the host: what the file leaves out is
	// cleared. NAME may come from the file.
	r = ctl(t, s, "hosts", "update", "-f", writeFile(t, "full.yaml", "name: demo.internal\nupstream: https://10.0.0.9\n"), "-o", "json").ok(t)
	var updated adminv1.UpdateHostResponse
	decodeJSON(t, r.stdout, &updated)
	wantHost := &adminv1.Host{Name: "demo.internal", Upstream: "https://10.0.0.9", Etag: "4"}
	if !proto.Equal(updated.GetHost(), wantHost) || !proto.Equal(s.host("demo.internal"), wantHost) {
		t.Errorf("after full update: response %v, stored %v, want %v", updated.GetHost(), s.host("demo.internal"), wantHost)
	}
	masks := s.masks()
	var wantMask []string // every field but the key and the etag
	for fds, i := wantHost.ProtoReflect().Descriptor().Fields(), 0; i < fds.Len(); i++ {
		if n := string(fds.Get(i).Name()); n != "name" && n != "etag" {
			wantMask = append(wantMask, n)
		}
	}
	if last := masks[len(masks)-1]; !slices.Equal(last, wantMask) {
		t.Errorf("full update sent mask %q, want %q", last, wantMask)
	}

	s.log.take()
	r = ctl(t, s, "hosts", "delete", "demo.internal").ok(t)
	if r.stdout != "deleted host demo.internal (revision 5)\n" {
		t.Errorf("delete printed %q", r.stdout)
	}
	wantRequests(t, s, `GET /v1/hosts/demo.internal`, `DELETE /v1/hosts/demo.internal\?etag=4`)
	r = ctl(t, s, "hosts", "delete", "api.internal", "--etag", "2", "-o", "json").ok(t)
	var del adminv1.DeleteHostResponse
	decodeJSON(t, r.stdout, &del)
	if del.GetRevision() != 6 {
		t.Errorf("delete -o json = %v", &del)
	}
	wantRequests(t, s, `DELETE /v1/hosts/api.internal\?etag=2`)
}

const ruleYAML = `id: alice-demo
effect: allow
principals: [{id: alice}, {organizational_unit: mobile}]
hosts: [demo.internal]
methods: [GET, POST]
paths: [{prefix: /api}, {glob: "/files/**"}]
description: alice may use the demo API
`

func TestRules(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	header := []string{"ID", "EFFECT", "PRINCIPALS", "HOSTS", "METHODS", "PATHS", "ETAG"}

	r := ctl(t, s, "rules", "create", "-f", writeFile(t, "rule.yaml", ruleYAML)).ok(t)
	wantRows(t, r.stdout, header,
		[]string{"alice-demo", "allow", "id:alice,ou:mobile", "demo.internal", "GET,POST", "prefix:/api,glob:/files/**", "1"})
	r = ctl(t, s, "rules", "create", "-o", "json", "-f", writeFile(t, "deny.yaml",
		"id: no-private\neffect: EFFECT_DENY\nprincipals: [{any: true}]\nhosts: ['*.internal']\n")).ok(t)
	var created adminv1.CreateRuleResponse
	decodeJSON(t, r.stdout, &created)
	if created.GetRule().GetEffect() != adminv1.Effect_EFFECT_DENY || created.GetRule().GetEtag() != "2" {
		t.Errorf("create -o json = %v", &created)
	}

	r = ctl(t, s, "rules", "list").ok(t)
	wantRows(t, r.stdout, header,
		[]string{"alice-demo", "allow", "id:alice,ou:mobile", "demo.internal", "GET,POST", "prefix:/api,glob:/files/**", "1"},
		[]string{"no-private", "deny", "any", "*.internal", "*", "*", "2"})
	r = ctl(t, s, "rules", "list", "-o", "json").ok(t)
	var list adminv1.ListRulesResponse
	decodeJSON(t, r.stdout, &list)
	if len(list.GetRules()) != 2 {
		t.Errorf("list -o json = %v", &list)
	}

	// Round trip: the output of get -o json, edited, fed back on stdin. Its
	// etag is the precondition, so no second GET is made.
	r = ctl(t, s, "rules", "get", "alice-demo", "-o", "json").ok(t)
	edited := strings.Replace(r.stdout, `"POST"`, `"PUT"`, 1)
	s.log.take()
	r = ctlIn(t, s, edited, "rules", "update", "alice-demo", "-f", "-").ok(t)
	wantRows(t, r.stdout, header,
		[]string{"alice-demo", "allow", "id:alice,ou:mobile", "demo.internal", "GET,PUT", "prefix:/api,glob:/files/**", "3"})
	wantRequests(t, s, `PATCH /v1/rules/alice-demo\?updateMask=effect%2Cprincipals%2Chosts%2Cmethods%2Cpaths%2Cdescription`)

	// Once more with the same (now stale) file: 409 and a hint naming the
	// etag the file was based on.
	r = ctlIn(t, s, edited, "rules", "update", "-f", "-").fails(t, 1,
		`^msgctl: 409 Conflict Aborted: etag mismatch: the resource was changed by someone else; read it again\n`+
			`msgctl: rule "alice-demo" was changed by someone else since etag "1"; read it again and re-apply your change\n$`)

	r = ctl(t, s, "rules", "get", "no-private").ok(t)
	wantRows(t, r.stdout, header, []string{"no-private", "deny", "any", "*.internal", "*", "*", "2"})
	s.log.take()
	r = ctl(t, s, "rules", "delete", "no-private", "--etag=2").ok(t)
	if r.stdout != "deleted rule no-private (revision 4)\n" {
		t.Errorf("delete printed %q", r.stdout)
	}
	wantRequests(t, s, `DELETE /v1/rules/no-private\?etag=2`)
	r = ctl(t, s, "-o", "json", "rules", "delete", "alice-demo").ok(t)
	var del adminv1.DeleteRuleResponse
	decodeJSON(t, r.stdout, &del)
	if del.GetRevision() != 5 {
		t.Errorf("delete -o json = %v", &del)
	}
}

func TestRevocations(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	header := []string{"ID", "SERIAL/FINGERPRINT", "REASON", "CREATED"}
	fpColons := strings.TrimSuffix(strings.Repeat("AB:", 32), ":")
	fp := strings.Repeat("ab", 32)

	r := ctl(t, s, "revocations", "create", "--fingerprint", fpColons, "--reason", "phone lost").ok(t)
	if !strings.Contains(r.stdout, "fp-"+fp) || !strings.Contains(r.stdout, "phone lost") || !strings.Contains(r.stdout, "2026-03-04T05:06:07Z") {
		t.Errorf("create printed:\n%s", r.stdout)
	}
	r = ctl(t, s, "revocations", "create", "--serial", "0x0A:1B", "--issuer", "CN=msg dev CA,O=Example", "--reason", "left", "-o", "json").ok(t)
	var created adminv1.CreateRevocationResponse
	decodeJSON(t, r.stdout, &created)
	rev := created.GetRevocation()
	if rev.GetSerialHex() != "0a1b" || rev.GetIssuer() != "CN=msg dev CA,O=Example" || rev.GetCreator() != "test-admin" {
		t.Errorf("create -o json = %v", rev)
	}

	r = ctl(t, s, "revocations", "list").ok(t)
	rows := fields(r.stdout)
	if len(rows) != 3 || !slices.Equal(rows[0], header) {
		t.Fatalf("list:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "sn:0a1b issuer:CN=msg dev CA,O=Example") {
		t.Errorf("list does not show the serial and issuer:\n%s", r.stdout)
	}
	r = ctl(t, s, "revocations", "list", "-o", "json").ok(t)
	var list adminv1.ListRevocationsResponse
	decodeJSON(t, r.stdout, &list)
	if len(list.GetRevocations()) != 2 {
		t.Errorf("list -o json = %v", &list)
	}

	// delete finds the etag in the list: there is no GetRevocation.
	s.log.take()
	r = ctl(t, s, "revocations", "delete", "fp-"+fp).ok(t)
	if r.stdout != "deleted revocation fp-"+fp+" (revision 3)\n" {
		t.Errorf("delete printed %q", r.stdout)
	}
	wantRequests(t, s, `GET /v1/revocations\?pageSize=1000`, `DELETE /v1/revocations/fp-`+fp+`\?etag=1`)
	ctl(t, s, "revocations", "delete", "fp-"+fp).fails(t, 1, `^msgctl: no revocation with id "fp-(ab)+" \(see msgctl revocations list\)\n$`)
	ctl(t, s, "revocations", "delete", rev.GetId(), "--etag", "1").fails(t, 1, `^msgctl: 409 Conflict Aborted: `)
	r = ctl(t, s, "revocations", "delete", rev.GetId(), "--etag", "2", "-o", "json").ok(t)
	var del adminv1.DeleteRevocationResponse
	decodeJSON(t, r.stdout, &del)
	if del.GetRevision() != 4 {
		t.Errorf("delete -o json = %v", &del)
	}

	s.log.take()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"both", []string{"--fingerprint", fp, "--serial", "1", "--issuer", "CN=x", "--reason", "r"}, "either --fingerprint or --serial"},
		{"serial without issuer", []string{"--serial", "1", "--reason", "r"}, "--serial and --issuer go together"},
		{"nothing named", []string{"--reason", "r"}, "name the certificate"},
		{"no reason", []string{"--fingerprint", fp}, "--reason is required"},
		{"short fingerprint", []string{"--fingerprint", "abcd", "--reason", "r"}, "64 hex digits"},
		{"bad serial", []string{"--serial", "xyz", "--issuer", "CN=x", "--reason", "r"}, "serial number in hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctl(t, s, append([]string{"revocations", "create"}, tc.args...)...).fails(t, 2, regexp.QuoteMeta(tc.want))
		})
	}
	wantRequests(t, s)
}

func auditRecords() []*adminv1.AuditRecord {
	at := func(min int) *timestamppb.Timestamp {
		return timestamppb.New(testNow.Add(-time.Duration(min) * time.Minute))
	}
	recs := []*adminv1.AuditRecord{
		{Time: at(1), Kind: adminv1.RecordKind_RECORD_KIND_FORWARD, Principal: "mallory", Host: "demo.internal", Method: "GET",
			Path: "/private/x", Decision: adminv1.Decision_DECISION_DENY, Code: "PermissionDenied", Reason: "no_matching_rule"},
		{Time: at(2), Kind: adminv1.RecordKind_RECORD_KIND_FORWARD, Principal: "alice", Host: "demo.internal", Method: "GET",
			Path: "/api/x", Decision: adminv1.Decision_DECISION_ALLOW, RuleId: "alice-demo", UpstreamStatus: 200, Code: "OK"},
		{Time: at(3), Kind: adminv1.RecordKind_RECORD_KIND_ADMIN, Principal: "ops", Decision: adminv1.Decision_DECISION_ALLOW,
			AdminAction: "CreateRule", AdminTarget: "rules/alice-demo", Code: "OK", Revision: 7},
	}
	for i := 0; i < 9; i++ { // older denials, for paging
		recs = append(recs, &adminv1.AuditRecord{Time: at(120 + i), Kind: adminv1.RecordKind_RECORD_KIND_FORWARD, Principal: "mallory",
			Host: "demo.internal", Method: "POST", Path: "/", Decision: adminv1.Decision_DECISION_DENY, Code: "PermissionDenied"})
	}
	return recs
}

func TestAudit(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	s.fake.audit = auditRecords()
	s.fake.pageMax = 2

	r := ctl(t, s, "audit", "--limit", "3").ok(t)
	wantRows(t, r.stdout,
		[]string{"TIME", "PRINCIPAL", "DECISION", "HOST", "METHOD", "PATH", "STATUS", "RULE"},
		[]string{"2026-03-04T11:59:00Z", "mallory", "deny", "demo.internal", "GET", "/private/x", "PermissionDenied", "-"},
		[]string{"2026-03-04T11:58:00Z", "alice", "allow", "demo.internal", "GET", "/api/x", "200", "alice-demo"},
		[]string{"2026-03-04T11:57:00Z", "ops", "allow", "-", "CreateRule", "rules/alice-demo", "OK", "-"})
	if !strings.Contains(r.stderr, "showing the newest 3 records; more may match") {
		t.Errorf("no truncation note on stderr: %q", r.stderr)
	}
	// Pages of at most 2 (the server's cap), asking only for what is missing.
	wantRequests(t, s, `GET /v1/audit\?pageSize=3`, `GET /v1/audit\?pageSize=1&pageToken=2`)

	r = ctl(t, s, "audit", "--principal", "mallory", "--host", "demo.internal", "--decision", "deny",
		"--kind", "forward", "--since", "1h", "-o", "json").ok(t)
	var resp adminv1.ListAuditRecordsResponse
	decodeJSON(t, r.stdout, &resp)
	if len(resp.GetRecords()) != 1 || resp.GetRecords()[0].GetPath() != "/private/x" || resp.GetNextPageToken() != "" {
		t.Errorf("filtered audit = %v", &resp)
	}
	if r.stderr != "" {
		t.Errorf("stderr = %q", r.stderr)
	}
	s.fake.mu.Lock()
	req := s.fake.auditReqs[len(s.fake.auditReqs)-1]
	s.fake.mu.Unlock()
	wantReq := &adminv1.ListAuditRecordsRequest{Principal: "mallory", Host: "demo.internal", Decision: adminv1.Decision_DECISION_DENY,
		Kind: adminv1.RecordKind_RECORD_KIND_FORWARD, StartTime: timestamppb.New(testNow.Add(-time.Hour)), PageSize: 100}
	if !proto.Equal(req, wantReq) {
		t.Errorf("server got %v, want %v", req, wantReq)
	}

	// All older denials: follows pages (2 per page) up to --limit.
	s.log.take()
	r = ctl(t, s, "audit", "--decision", "deny", "--start", "2026-03-04T09:00:00Z", "--end", "2026-03-04T11:00:00+01:00", "--limit", "6", "-o", "json").ok(t)
	resp.Reset()
	decodeJSON(t, r.stdout, &resp)
	if len(resp.GetRecords()) != 6 || resp.GetNextPageToken() != "6" {
		t.Errorf("got %d records, next page %q; want 6 and \"6\"", len(resp.GetRecords()), resp.GetNextPageToken())
	}
	wantRequests(t, s,
		`GET /v1/audit\?decision=DECISION_DENY&endTime=2026-03-04T10%3A00%3A00Z&pageSize=6&startTime=2026-03-04T09%3A00%3A00Z`,
		`GET /v1/audit\?decision=DECISION_DENY&endTime=.*&pageSize=4&pageToken=2&startTime=.*`,
		`GET /v1/audit\?decision=DECISION_DENY&endTime=.*&pageSize=2&pageToken=4&startTime=.*`)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"decision", []string{"--decision", "maybe"}, `--decision "maybe": want allow or deny`},
		{"kind", []string{"--kind", "relay"}, `--kind "relay": want forward, admin, enroll or renew`},
		{"since and start", []string{"--since", "1h", "--start", "2026-03-04T09:00:00Z"}, "use --since or --start, not both"},
		{"bad start", []string{"--start", "yesterday"}, `--start "yesterday": want an RFC 3339 time`},
		{"end before start", []string{"--start", "2026-03-04T09:00:00Z", "--end", "2026-03-04T08:00:00Z"}, "--end must be after the start"},
		{"limit", []string{"--limit", "0"}, "--limit must be at least 1"},
		{"argument", []string{"mallory"}, `unexpected argument "mallory"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctl(t, s, append([]string{"audit"}, tc.args...)...).fails(t, 2, regexp.QuoteMeta(tc.want))
		})
	}
	wantRequests(t, s)
}

func TestStatus(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	s.seedHost(t, &adminv1.Host{Name: "demo.internal", Upstream: "http://127.0.0.1:1"})
	r := ctl(t, s, "status").ok(t)
	want := "version:     v1.2.3-test\nstarted:     2026-03-04T05:00:00Z\nuptime:      1h2m5s\nrevision:    1\n" +
		"hosts:       1\nrules:       0\nrevocations: 0\n"
	if r.stdout != want {
		t.Errorf("status printed\n%s\nwant\n%s", r.stdout, want)
	}
	r = ctl(t, s, "status", "-o", "json").ok(t)
	var st adminv1.GetStatusResponse
	decodeJSON(t, r.stdout, &st)
	if st.GetVersion() != "v1.2.3-test" || st.GetHostCount() != 1 || st.GetUptimeSeconds() != 3725 {
		t.Errorf("status -o json = %v", &st)
	}
	if !regexp.MustCompile(`"ruleCount":\s+0`).MatchString(r.stdout) {
		t.Errorf("status -o json leaves out zero fields:\n%s", r.stdout)
	}
}

func TestTokenSources(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	good := writeFile(t, "admin-token", testToken+"\n")
	bad := writeFile(t, "bad-token", "wrong-token-b9\n")
	empty := writeFile(t, "empty-token", "\n")
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string // stderr pattern
	}{
		{name: "flag", args: []string{"--token", testToken}},
		{name: "file", args: []string{"--token-file", good}},
		{name: "env", env: map[string]string{"MSGCTL_TOKEN": testToken}},
		{name: "flag beats file and env", args: []string{"--token", testToken, "--token-file", bad}, env: map[string]string{"MSGCTL_TOKEN": "wrong-token-b9"}},
		{name: "file beats env", args: []string{"--token-file", good}, env: map[string]string{"MSGCTL_TOKEN": "wrong-token-b9"}},
		{name: "addr from env", args: []string{"--token", testToken}, env: map[string]string{"MSGCTL_ADDR": s.url}},
		{name: "wrong token", args: []string{"--token-file", bad}, env: map[string]string{"MSGCTL_TOKEN": testToken}, code: 1,
			want: `^msgctl: 401 Unauthorized Unauthenticated: missing or unknown admin credentials\nmsgctl: the admin token was refused: check --token, --token-file or MSGCTL_TOKEN\n$`},
		{name: "no token", code: 1,
			want: `^msgctl: 401 Unauthorized Unauthenticated: .*\nmsgctl: no admin token given: use --token, --token-file or MSGCTL_TOKEN\n$`},
		{name: "empty token file", args: []string{"--token-file", empty}, code: 1, want: `^msgctl: --token-file .* is empty\n$`},
		{name: "missing token file", args: []string{"--token-file", empty + ".nope"}, code: 1, want: `^msgctl: --token-file: open .*: no such file`},
		{name: "token with a space", args: []string{"--token", "wrong-token-b9 x"}, code: 1, want: `^msgctl: the token from --token contains spaces or control characters\n$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.env["MSGCTL_ADDR"] == "" {
				args = append([]string{"--addr", s.url}, args...)
			}
			r := execRun(t, tc.env, append(args, "hosts", "list")...)
			if tc.code == 0 {
				r.ok(t)
				return
			}
			r.fails(t, tc.code, tc.want)
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	s.seedHost(t, &adminv1.Host{Name: "demo.internal", Upstream: "http://10.0.0.5"})

	ctl(t, s, "hosts", "create", "-f", writeFile(t, "bad.yaml", "name: x.internal\nupstream: ftp://10.0.0.5\n")).
		fails(t, 1, `^msgctl: 400 Bad Request InvalidArgument: host.upstream: must be an http:// or https:// URL\n$`)
	ctl(t, s, "hosts", "create", "-f", writeFile(t, "dup.yaml", "name: demo.internal\nupstream: http://10.0.0.5\n")).
		fails(t, 1, `^msgctl: 409 Conflict AlreadyExists: already exists\n$`)
	ctl(t, s, "rules", "create", "-f", writeFile(t, "r.yaml", "id: r\neffect: allow\nprincipals: [{any: true}]\n")).
		fails(t, 1, `^msgctl: 400 Bad Request InvalidArgument: rule.hosts: at least one\n`+
			`msgctl:   hosts: at least one\nmsgctl:   reason: INVALID_RULE\n$`)
	ctl(t, s, "hosts", "get", "nope.internal").fails(t, 1, `^msgctl: 404 Not Found NotFound: not found\n$`)
	ctl(t, s, "hosts", "delete", "demo.internal", "--etag", "99").
		fails(t, 1, `^msgctl: 409 Conflict Aborted: .*\nmsgctl: host "demo.internal" was changed by someone else since etag "99"; read it again`)
	ctl(t, s, "hosts", "update", "demo.internal", "--mask", "upstream", "-f", writeFile(t, "e.yaml", "upstream: http://x\netag: \"99\"\n")).
		fails(t, 1, `^msgctl: 409 Conflict Aborted: `)

	// Someone else writes between msgctl's GET and its PATCH/DELETE.
	s.fake.mu.Lock()
	s.fake.afterGetHost = func() { s.touchHost("demo.internal") }
	s.fake.mu.Unlock()
	s.log.take()
	ctl(t, s, "hosts", "update", "demo.internal", "--mask", "upstream", "-f", writeFile(t, "u.yaml", "upstream: http://10.0.0.7\n")).
		fails(t, 1, `^msgctl: 409 Conflict Aborted: etag mismatch: .*\nmsgctl: host "demo.internal" was changed by someone else; re-run\n$`)
	wantRequests(t, s, `GET /v1/hosts/demo.internal`, `PATCH /v1/hosts/demo.internal\?updateMask=upstream`)
	ctl(t, s, "hosts", "delete", "demo.internal").
		fails(t, 1, `^msgctl: 409 Conflict Aborted: .*\nmsgctl: host "demo.internal" was changed by someone else; re-run\n$`)
	if s.host("demo.internal").GetUpstream() != "http://10.0.0.5" {
		t.Errorf("a conflicting update was applied: %v", s.host("demo.internal"))
	}
}

func TestFileErrorsBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	for _, tc := range []struct {
		name, file string
		args       []string
		want       string
	}{
		{"unknown top-level key", "name: a.internal\nupstrem: http://x\n", []string{"hosts", "create"}, `: upstrem \(line 2\): unknown key`},
		{"unknown nested key", "name: a.internal\nupstream: http://x\ntls:\n  ca_fle: ca.pem\n", []string{"hosts", "update", "a.internal"}, `: tls.ca_fle \(line 4\): unknown key`},
		{"duplicate key", ruleYAML + "paths: x\n", []string{"rules", "create"}, `: paths \(line 8\): duplicate key \(first at line 6\)`},
		{"unknown matcher", "id: r\nprincipals: [{id: a}, {group: ops}]\n", []string{"rules", "create"}, `: principals\[1\].group \(line 2\): unknown key`},
		{"unknown JSON key", `{"host": {"name": "a", "upstreamUrl": "http://x"}}`, []string{"hosts", "create"}, `: host.upstreamUrl \(line 1\): unknown key`},
		{"wrong type", "name: a\nmax_request_body_bytes: lots\n", []string{"hosts", "create"}, `: max_request_body_bytes \(line 2\): expected a 64-bit integer, got "lots"`},
		{"bad enum", "id: r\neffect: maybe\n", []string{"rules", "create"}, `: effect \(line 2\): unknown value "maybe" \(want one of allow, deny\)`},
		{"empty", "", []string{"hosts", "create"}, `: empty document`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "res.yaml", tc.file)
			ctl(t, s, append(tc.args, "-f", path)...).fails(t, 1, `^msgctl: `+regexp.QuoteMeta(path)+`.*`+tc.want)
		})
	}
	ctlIn(t, s, "name: a\nbogus: 1\n", "hosts", "create", "-f", "-").fails(t, 1, `^msgctl: stdin: bogus \(line 2\): unknown key\n$`)
	ctl(t, s, "hosts", "create", "-f", "/nonexistent/host.yaml").fails(t, 1, `no such file`)
	wantRequests(t, s)
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	f := writeFile(t, "h.yaml", "name: b.internal\nupstream: http://x\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "missing command"},
		{"unknown command", []string{"hostz"}, `unknown command "hostz"`},
		{"missing verb", []string{"hosts"}, "hosts: missing verb (list, get, create, update, delete)"},
		{"unknown verb", []string{"rules", "show"}, `rules: unknown verb "show"`},
		{"missing name", []string{"hosts", "get"}, "hosts get: missing NAME"},
		{"extra argument", []string{"hosts", "get", "a", "b"}, `hosts get: unexpected argument "b"`},
		{"dot-dot name", []string{"hosts", "delete", ".."}, `hosts delete: ".." is not a valid NAME`},
		{"slash in id", []string{"rules", "get", "a/b"}, `rules get: "a/b" is not a valid ID`},
		{"unknown flag", []string{"hosts", "list", "--colour"}, "hosts list: flag provided but not defined: -colour"},
		{"create without -f", []string{"hosts", "create"}, "hosts create: -f FILE is required"},
		{"bad output", []string{"-o", "yaml", "status"}, `-o "yaml": want table or json`},
		{"bad mask field", []string{"hosts", "update", "a", "-f", f, "--mask", "upstream,colour"}, `--mask: Host has no field "colour"`},
		{"mask on the key", []string{"rules", "update", "a", "-f", f, "--mask", "id"}, "--mask: rule.id cannot be changed"},
		{"nested mask", []string{"hosts", "update", "a", "-f", f, "--mask", "tls.ca_file"}, "only top-level fields of Host"},
		{"rename", []string{"hosts", "update", "a.internal", "-f", f}, `the file is for host "b.internal", the command names "a.internal"`},
		{"bad addr", []string{"--addr", "127.0.0.1:8080", "status"}, `--addr "127.0.0.1:8080": want a URL`},
		{"bad timeout", []string{"--timeout", "0s", "status"}, "--timeout must be positive"},
		{"tls flags on http", []string{"--cacert", f, "status"}, "--cacert, --cert and --key need an https:// --addr"},
		{"plaintext token off loopback", []string{"--addr", "http://192.0.2.10:8080", "status"}, "refusing to send the admin token over plain http to 192.0.2.10:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctl(t, s, tc.args...).fails(t, 2, regexp.QuoteMeta(tc.want)+`.*\nrun 'msgctl help' for usage\n$`)
		})
	}
	wantRequests(t, s)

	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"hosts", "list", "-h"}, {"hosts", "--help"}} {
		r := execRun(t, nil, args...).ok(t)
		if !strings.HasPrefix(r.stdout, "usage: msgctl") || r.stderr != "" {
			t.Errorf("msgctl %q: stdout %q, stderr %q", args, r.stdout[:min(len(r.stdout), 40)], r.stderr)
		}
	}
	if r := execRun(t, nil, "version").ok(t); r.stdout != "msgctl dev\n" {
		t.Errorf("version printed %q", r.stdout)
	}
}

func TestNotTheAPI(t *testing.T) {
	t.Parallel()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow/v1/status" {
			<-r.Context().Done()
			return
		}
		http.Error(w, "upstream connect error\x1b[2J", http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)
	execCLI(t, "", nil, "--addr", proxy.URL, "status").
		fails(t, 1, `^msgctl: 502 Bad Gateway: "upstream connect error\\x1b\[2J"\n$`)
	execCLI(t, "", nil, "--addr", proxy.URL+"/slow", "--timeout", "200ms", "status").
		fails(t, 1, `^msgctl: Get "http://127\.0\.0\.1:\d+/slow/v1/status": .*Timeout exceeded`)
}

func TestTerminalSafeTables(t *testing.T) {
	t.Parallel()
	s := newAdminServer(t)
	s.seedHost(t, &adminv1.Host{Name: "evil.internal", Upstream: "http://x/\x1b]0;pwned\x07\tcol"})
	r := ctl(t, s, "hosts", "list").ok(t)
	if strings.ContainsAny(r.stdout, "\x1b\x07") || !strings.Contains(r.stdout, `"http://x/\x1b]0;pwned\a\tcol"`) {
		t.Errorf("control characters reached the terminal:\n%q", r.stdout)
	}
}

func TestHTTPSWithClientCert(t *testing.T) {
	t.Parallel()
	ca, err := pki.NewCA("msgctl test CA")
	if err != nil {
		t.Fatal(err)
	}
	serverLeaf, err := ca.Issue(pki.Localhost())
	if err != nil {
		t.Fatal(err)
	}
	adminLeaf, err := ca.Issue(pki.Options{CommonName: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile, err := adminLeaf.WriteFiles(dir, "ops")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	mux := runtime.NewServeMux()
	if err := adminv1.RegisterAdminServiceHandlerServer(ctx, mux, newFakeAdmin()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{serverLeaf.TLSCertificate()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    ca.Pool(),
		MinVersion:   tls.VersionTLS12,
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)

	base := []string{"--addr", srv.URL, "--token", testToken}
	r := execCLI(t, "", nil, append(base, "--cacert", caFile, "--cert", certFile, "--key", keyFile, "status")...).ok(t)
	if !strings.HasPrefix(r.stdout, "version:") {
		t.Errorf("status over https printed %q", r.stdout)
	}
	execCLI(t, "", nil, append(base, "--cacert", caFile, "status")...).fails(t, 1, `^msgctl: Get "https://127\.0\.0\.1:\d+/v1/status": .*(certificate|tls)`)
	execCLI(t, "", nil, append(base, "--cert", certFile, "--key", keyFile, "status")...).fails(t, 1, `certificate signed by unknown authority`)
	execCLI(t, "", nil, append(base, "--cert", certFile, "status")...).fails(t, 2, `--cert and --key go together`)
	execCLI(t, "", nil, append(base, "--cacert", keyFile, "status")...).fails(t, 2, `--cacert .*: no PEM certificates in it`)
}

func TestRuleTableShowsEveryMatcher(t *testing.T) {
	t.Parallel()
	r := &adminv1.Rule{
		Id: "all", Effect: adminv1.Effect_EFFECT_ALLOW, Hosts: []string{"a", "b"},
		Principals: []*adminv1.PrincipalMatcher{
			{Kind: &adminv1.PrincipalMatcher_Any{Any: true}},
			{Kind: &adminv1.PrincipalMatcher_Id{Id: "alice"}},
			{Kind: &adminv1.PrincipalMatcher_CommonName{CommonName: "app-*"}},
			{Kind: &adminv1.PrincipalMatcher_SpiffeId{SpiffeId: "spiffe://example.org/ios"}},
			{Kind: &adminv1.PrincipalMatcher_TrustDomain{TrustDomain: "example.org"}},
			{Kind: &adminv1.PrincipalMatcher_Organization{Organization: "Example"}},
			{Kind: &adminv1.PrincipalMatcher_OrganizationalUnit{OrganizationalUnit: "mobile"}},
			{Kind: &adminv1.PrincipalMatcher_FingerprintSha256{FingerprintSha256: "ab12"}},
		},
		Paths: []*adminv1.PathMatcher{
			{Kind: &adminv1.PathMatcher_Exact{Exact: "/health"}},
			{Kind: &adminv1.PathMatcher_Prefix{Prefix: "/api/"}},
			{Kind: &adminv1.PathMatcher_Glob{Glob: "/u/*/p"}},
		},
	}
	var b strings.Builder
	if err := writeItems(&b, resource.Rule, []proto.Message{r}); err != nil {
		t.Fatal(err)
	}
	wantRows(t, b.String(),
		[]string{"ID", "EFFECT", "PRINCIPALS", "HOSTS", "METHODS", "PATHS", "ETAG"},
		[]string{"all", "allow", "any,id:alice,cn:app-*,spiffe://example.org/ios,td:example.org,o:Example,ou:mobile,fp:ab12",
			"a,b", "*", "exact:/health,prefix:/api/,glob:/u/*/p", "-"})
}
