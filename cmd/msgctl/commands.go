package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
)

// auditFlags are the audit command's filters.
type auditFlags struct {
	principal, host, decision, kind, start, end string
	since                                       time.Duration
	limit                                       int
}

func (c *cli) auditCommand(ctx context.Context, o *options, args []string) error {
	const cmd = "audit"
	if len(args) > 0 {
		switch args[0] {
		case "verify":
			return c.auditVerifyCommand(ctx, o, args[1:])
		case "proof":
			return c.auditProofCommand(ctx, o, args[1:])
		}
	}
	fs := newFlagSet(cmd)
	f := auditFlags{limit: 100}
	fs.StringVar(&f.principal, "principal", "", "only this principal")
	fs.StringVar(&f.host, "host", "", "only this host")
	fs.StringVar(&f.decision, "decision", "", "allow or deny")
	fs.StringVar(&f.kind, "kind", "", "forward or admin")
	fs.DurationVar(&f.since, "since", 0, "only records of the last DURATION")
	fs.StringVar(&f.start, "start", "", "only records at or after this RFC 3339 time")
	fs.StringVar(&f.end, "end", "", "only records before this RFC 3339 time")
	fs.IntVar(&f.limit, "limit", f.limit, "at most this many records")
	pos, err := parseLeaf(cmd, fs, o, args)
	if err != nil {
		return err
	}
	if err := checkArgs(cmd, pos, 0, 0, ""); err != nil {
		return err
	}
	q, err := c.auditQuery(cmd, f)
	if err != nil {
		return err
	}
	cl, err := c.connect(o)
	if err != nil {
		return err
	}
	merged, token, err := auditPages(ctx, cl, q, f.limit)
	if err != nil {
		return err
	}
	if o.json() {
		return writeJSON(c.stdout, merged)
	}
	if err := writeAudit(c.stdout, merged.Records); err != nil {
		return err
	}
	if token != "" {
		fmt.Fprintf(c.stderr, "msgctl: showing the newest %d records; more may match (raise --limit)\n", len(merged.Records))
	}
	return nil
}

// auditQuery checks the filters and turns them into the API's query.
func (c *cli) auditQuery(cmd string, f auditFlags) (url.Values, error) {
	q := url.Values{}
	if f.principal != "" {
		q.Set("principal", f.principal)
	}
	if f.host != "" {
		q.Set("host", f.host)
	}
	switch strings.ToLower(f.decision) {
	case "":
	case "allow":
		q.Set("decision", adminv1.Decision_DECISION_ALLOW.String())
	case "deny":
		q.Set("decision", adminv1.Decision_DECISION_DENY.String())
	default:
		return nil, usagef("%s: --decision %q: want allow or deny", cmd, f.decision)
	}
	switch strings.ToLower(f.kind) {
	case "":
	case "forward":
		q.Set("kind", adminv1.RecordKind_RECORD_KIND_FORWARD.String())
	case "admin":
		q.Set("kind", adminv1.RecordKind_RECORD_KIND_ADMIN.String())
	case "enroll":
		q.Set("kind", adminv1.RecordKind_RECORD_KIND_ENROLL.String())
	case "renew":
		q.Set("kind", adminv1.RecordKind_RECORD_KIND_RENEW.String())
	default:
		return nil, usagef("%s: --kind %q: want forward, admin, enroll or renew", cmd, f.kind)
	}
	if err := c.auditTimes(cmd, f, q); err != nil {
		return nil, err
	}
	if f.limit < 1 {
		return nil, usagef("%s: --limit must be at least 1", cmd)
	}
	return q, nil
}

// auditTimes checks --since, --start and --end and sets the query's times.
func (c *cli) auditTimes(cmd string, f auditFlags, q url.Values) error {
	var startT, endT time.Time
	var err error
	switch {
	case f.since != 0 && f.start != "":
		return usagef("%s: use --since or --start, not both", cmd)
	case f.since < 0:
		return usagef("%s: --since must be positive", cmd)
	case f.since > 0:
		startT = c.now().Add(-f.since)
	case f.start != "":
		if startT, err = time.Parse(time.RFC3339Nano, f.start); err != nil {
			return usagef("%s: --start %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", cmd, f.start)
		}
	}
	if f.end != "" {
		if endT, err = time.Parse(time.RFC3339Nano, f.end); err != nil {
			return usagef("%s: --end %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", cmd, f.end)
		}
		if !startT.IsZero() && !endT.After(startT) {
			return usagef("%s: --end must be after the start", cmd)
		}
	}
	if !startT.IsZero() {
		q.Set("startTime", startT.UTC().Format(time.RFC3339Nano))
	}
	if !endT.IsZero() {
		q.Set("endTime", endT.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// auditPages follows the pages of the audit query up to limit records and
// returns them with the token of the next page (empty on the last).
func auditPages(ctx context.Context, cl *client, q url.Values, limit int) (*adminv1.ListAuditRecordsResponse, string, error) {
	merged := &adminv1.ListAuditRecordsResponse{}
	seen := map[string]bool{}
	token := ""
	for len(merged.Records) < limit {
		q.Set("pageSize", strconv.Itoa(min(limit-len(merged.Records), 1000)))
		if token != "" {
			q.Set("pageToken", token)
		}
		resp := &adminv1.ListAuditRecordsResponse{}
		if err := cl.call(ctx, http.MethodGet, "/v1/audit", q, nil, resp); err != nil {
			return nil, "", err
		}
		merged.Records = append(merged.Records, resp.GetRecords()...)
		token = resp.GetNextPageToken()
		if token == "" {
			break
		}
		if seen[token] {
			return nil, "", fmt.Errorf("GET /v1/audit: the server returned page token %q twice", clean(token))
		}
		seen[token] = true
	}
	if len(merged.Records) > limit {
		merged.Records = merged.Records[:limit]
	}
	// Scripts can carry on from here with the API's pageToken.
	merged.NextPageToken = token
	return merged, token, nil
}

func (c *cli) statusCommand(ctx context.Context, o *options, args []string) error {
	fs := newFlagSet("status")
	pos, err := parseLeaf("status", fs, o, args)
	if err != nil {
		return err
	}
	if err := checkArgs("status", pos, 0, 0, ""); err != nil {
		return err
	}
	cl, err := c.connect(o)
	if err != nil {
		return err
	}
	resp := &adminv1.GetStatusResponse{}
	if err := cl.call(ctx, http.MethodGet, "/v1/status", nil, nil, resp); err != nil {
		return err
	}
	if o.json() {
		return writeJSON(c.stdout, resp)
	}
	return writeStatus(c.stdout, resp)
}
