package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/protoyaml"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// collection describes a keyed, etagged resource with the five standard
// methods (hosts and rules), so that both share one implementation. Its
// response messages follow one pattern: the list response has a repeated
// field named plural, the get/create/update responses a field named singular,
// the delete response a revision.
type collection struct {
	plural    string            // "hosts": the URL collection and the list field
	singular  string            // "host": the response field and the file's wrapper key
	key       protoreflect.Name // "name": the field that is the URL key
	keyArg    string            // "NAME", for messages
	newItem   func() proto.Message
	newList   func() proto.Message
	newGet    func() proto.Message
	newCreate func() proto.Message
	newUpdate func() proto.Message
	newDelete func() proto.Message
	write     func(io.Writer, []proto.Message) error
}

var hosts = collection{
	plural: "hosts", singular: "host", key: "name", keyArg: "NAME",
	newItem:   func() proto.Message { return &adminv1.Host{} },
	newList:   func() proto.Message { return &adminv1.ListHostsResponse{} },
	newGet:    func() proto.Message { return &adminv1.GetHostResponse{} },
	newCreate: func() proto.Message { return &adminv1.CreateHostResponse{} },
	newUpdate: func() proto.Message { return &adminv1.UpdateHostResponse{} },
	newDelete: func() proto.Message { return &adminv1.DeleteHostResponse{} },
	write: func(w io.Writer, items []proto.Message) error {
		return writeHosts(w, as[*adminv1.Host](items))
	},
}

var rules = collection{
	plural: "rules", singular: "rule", key: "id", keyArg: "ID",
	newItem:   func() proto.Message { return &adminv1.Rule{} },
	newList:   func() proto.Message { return &adminv1.ListRulesResponse{} },
	newGet:    func() proto.Message { return &adminv1.GetRuleResponse{} },
	newCreate: func() proto.Message { return &adminv1.CreateRuleResponse{} },
	newUpdate: func() proto.Message { return &adminv1.UpdateRuleResponse{} },
	newDelete: func() proto.Message { return &adminv1.DeleteRuleResponse{} },
	write: func(w io.Writer, items []proto.Message) error {
		return writeRules(w, as[*adminv1.Rule](items))
	},
}

func as[T proto.Message](items []proto.Message) []T {
	out := make([]T, len(items))
	for i, m := range items {
		out[i] = m.(T)
	}
	return out
}

// fieldOf returns m's field called name; the names used here exist in the
// generated messages, so a nil result is a programming error.
func fieldOf(m proto.Message, name protoreflect.Name) protoreflect.FieldDescriptor {
	fd := m.ProtoReflect().Descriptor().Fields().ByName(name)
	if fd == nil {
		panic(fmt.Sprintf("%s has no field %s", m.ProtoReflect().Descriptor().FullName(), name))
	}
	return fd
}

func getString(m proto.Message, name protoreflect.Name) string {
	return m.ProtoReflect().Get(fieldOf(m, name)).String()
}

func setString(m proto.Message, name protoreflect.Name, v string) {
	m.ProtoReflect().Set(fieldOf(m, name), protoreflect.ValueOfString(v))
}

// itemOf returns the resource a get/create/update response carries.
func itemOf(resp proto.Message, singular string) proto.Message {
	fd := fieldOf(resp, protoreflect.Name(singular))
	if !resp.ProtoReflect().Has(fd) {
		return nil
	}
	return resp.ProtoReflect().Get(fd).Message().Interface()
}

func (c *cli) collectionCommand(ctx context.Context, o *options, col *collection, args []string) error {
	v, args, err := verb(col.plural, args, "list", "get", "create", "update", "delete")
	if err != nil {
		return err
	}
	cmd := col.plural + " " + v
	fs := newFlagSet(cmd)
	var file, mask, etag string
	if v == "create" || v == "update" {
		fs.StringVar(&file, "f", "", "YAML or JSON file, '-' for stdin")
	}
	if v == "update" {
		fs.StringVar(&mask, "mask", "", "top-level fields to change")
	}
	if v == "update" || v == "delete" {
		fs.StringVar(&etag, "etag", "", "the etag the write is based on")
	}
	pos, err := parseLeaf(cmd, fs, o, args)
	if err != nil {
		return err
	}
	switch v {
	case "list", "create":
		err = checkArgs(cmd, pos, 0, 0, "")
	case "get", "delete":
		err = checkArgs(cmd, pos, 1, 1, col.keyArg)
	case "update":
		err = checkArgs(cmd, pos, 0, 1, col.keyArg)
	}
	if err != nil {
		return err
	}
	if (v == "create" || v == "update") && file == "" {
		return usagef("%s: -f FILE is required", cmd)
	}
	var paths []string
	if v == "update" {
		if paths, err = updateMask(col, mask); err != nil {
			return err
		}
	}
	cl, err := c.connect(o)
	if err != nil {
		return err
	}
	switch v {
	case "list":
		return c.listCollection(ctx, cl, o, col)
	case "get":
		resp := col.newGet()
		if err := cl.call(ctx, http.MethodGet, collectionPath(col.plural, pos[0]), nil, nil, resp); err != nil {
			return err
		}
		return c.printItem(o, col, resp)
	case "create":
		return c.create(ctx, cl, o, col, file)
	case "update":
		key := ""
		if len(pos) == 1 {
			key = pos[0]
		}
		return c.update(ctx, cl, o, col, key, file, etag, paths)
	default:
		return c.deleteItem(ctx, cl, o, col, pos[0], etag)
	}
}

// updateMask turns --mask into canonical field names, checked against the
// resource's top-level fields. Without --mask it names every field but the
// key and the etag, so that update replaces the resource with the file.
//
// An explicit mask is always sent: without one grpc-gateway derives the mask
// from the keys present in the body, which would leave out the fields the
// file omits (and name the key and etag, which cannot be changed).
func updateMask(col *collection, flagValue string) ([]string, error) {
	md := col.newItem().ProtoReflect().Descriptor()
	immutable := func(fd protoreflect.FieldDescriptor) bool {
		return fd.Name() == col.key || fd.Name() == "etag"
	}
	var paths []string
	if strings.TrimSpace(flagValue) == "" {
		for i := 0; i < md.Fields().Len(); i++ {
			if fd := md.Fields().Get(i); !immutable(fd) {
				paths = append(paths, string(fd.Name()))
			}
		}
		return paths, nil
	}
	seen := map[protoreflect.Name]bool{}
	for _, p := range strings.Split(flagValue, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if strings.Contains(p, ".") {
			return nil, usagef("--mask %q: only top-level fields of %s can be named", p, md.Name())
		}
		fd := md.Fields().ByName(protoreflect.Name(p))
		if fd == nil {
			fd = md.Fields().ByJSONName(p)
		}
		if fd == nil {
			return nil, usagef("--mask: %s has no field %q", md.Name(), p)
		}
		if immutable(fd) {
			return nil, usagef("--mask: %s.%s cannot be changed", col.singular, fd.Name())
		}
		if !seen[fd.Name()] {
			seen[fd.Name()] = true
			paths = append(paths, string(fd.Name()))
		}
	}
	return paths, nil
}

// printItem prints a get/create/update response: the response message as
// JSON, or the resource as a one-row table.
func (c *cli) printItem(o *options, col *collection, resp proto.Message) error {
	if o.json() {
		return writeJSON(c.stdout, resp)
	}
	item := itemOf(resp, col.singular)
	if item == nil {
		return fmt.Errorf("the response carries no %s", col.singular)
	}
	return col.write(c.stdout, []proto.Message{item})
}

// listAll follows the pages of a list method and returns the first response
// with every page's items appended.
func (c *cli) listAll(ctx context.Context, cl *client, path string, newList func() proto.Message, field protoreflect.Name) (proto.Message, []proto.Message, error) {
	var merged proto.Message
	var all protoreflect.List
	seen := map[string]bool{}
	token := ""
	for {
		q := url.Values{"pageSize": {"1000"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		resp := newList()
		if err := cl.call(ctx, http.MethodGet, path, q, nil, resp); err != nil {
			return nil, nil, err
		}
		list := resp.ProtoReflect().Get(fieldOf(resp, field)).List()
		if merged == nil {
			merged = resp
			all = merged.ProtoReflect().Mutable(fieldOf(merged, field)).List()
		} else {
			for i := 0; i < list.Len(); i++ {
				all.Append(list.Get(i))
			}
			a, b := revisionOf(merged), revisionOf(resp)
			if a != b {
				fmt.Fprintf(c.stderr, "msgctl: warning: the list changed while it was read (revision %d to %d); run again for a consistent view\n", a, b)
			}
		}
		token = getString(resp, "next_page_token")
		if token == "" {
			break
		}
		if seen[token] {
			return nil, nil, fmt.Errorf("GET %s: the server returned page token %q twice", path, clean(token))
		}
		seen[token] = true
	}
	setString(merged, "next_page_token", "")
	items := make([]proto.Message, all.Len())
	for i := range items {
		items[i] = all.Get(i).Message().Interface()
	}
	return merged, items, nil
}

func revisionOf(m proto.Message) int64 {
	fd := m.ProtoReflect().Descriptor().Fields().ByName("revision")
	if fd == nil {
		return 0
	}
	return m.ProtoReflect().Get(fd).Int()
}

func (c *cli) listCollection(ctx context.Context, cl *client, o *options, col *collection) error {
	resp, items, err := c.listAll(ctx, cl, "/v1/"+col.plural, col.newList, protoreflect.Name(col.plural))
	if err != nil {
		return err
	}
	if o.json() {
		return writeJSON(c.stdout, resp)
	}
	return col.write(c.stdout, items)
}

// readItem reads and decodes a resource file; nothing has been sent yet.
func (c *cli) readItem(col *collection, file string) (proto.Message, error) {
	source := file
	if file == "-" {
		source = "stdin"
	}
	data, err := readLimited(file, c.stdin, protoyaml.MaxBytes)
	if err != nil {
		return nil, err
	}
	item := col.newItem()
	// The config file's keys, and the JSON that get -o json prints (its
	// response wrapper too), so that output can be edited and fed back.
	opts := protoyaml.Options{File: source, ProtoJSON: true, Wrapper: col.singular}
	if err := protoyaml.Unmarshal(data, item, opts); err != nil {
		return nil, err
	}
	return item, nil
}

func (c *cli) create(ctx context.Context, cl *client, o *options, col *collection, file string) error {
	item, err := c.readItem(col, file)
	if err != nil {
		return err
	}
	// A file saved from "get" carries an etag; a new resource has none.
	setString(item, "etag", "")
	resp := col.newCreate()
	if err := cl.call(ctx, http.MethodPost, "/v1/"+col.plural, nil, item, resp); err != nil {
		return err
	}
	return c.printItem(o, col, resp)
}

// currentEtag reads the resource to learn its etag.
func (c *cli) currentEtag(ctx context.Context, cl *client, col *collection, key string) (string, error) {
	resp := col.newGet()
	if err := cl.call(ctx, http.MethodGet, collectionPath(col.plural, key), nil, nil, resp); err != nil {
		return "", err
	}
	item := itemOf(resp, col.singular)
	if item == nil || getString(item, "etag") == "" {
		return "", fmt.Errorf("the server sent %s %q without an etag", col.singular, key)
	}
	return getString(item, "etag"), nil
}

// conflictHint explains a stale etag (ABORTED): fetched means msgctl read
// the etag itself moments before, so simply running again is the fix.
func conflictHint(err error, singular, key, etag string, fetched bool) error {
	var ae *apiError
	if !errors.As(err, &ae) || !ae.hasCode || ae.code != codes.Aborted {
		return err
	}
	if fetched {
		ae.hint = fmt.Sprintf("%s %q was changed by someone else; re-run", singular, clean(key))
	} else {
		ae.hint = fmt.Sprintf("%s %q was changed by someone else since etag %q; read it again and re-apply your change", singular, clean(key), clean(etag))
	}
	return ae
}

func (c *cli) update(ctx context.Context, cl *client, o *options, col *collection, key, file, etag string, paths []string) error {
	item, err := c.readItem(col, file)
	if err != nil {
		return err
	}
	cmd := col.plural + " update"
	switch fileKey := getString(item, col.key); {
	case key == "" && fileKey == "":
		return usagef("%s: name the %s: msgctl %s %s -f FILE", cmd, col.singular, cmd, col.keyArg)
	case key == "":
		key = fileKey
	case fileKey != "" && fileKey != key:
		return usagef("%s: the file is for %s %q, the command names %q; a %s cannot be renamed", cmd, col.singular, fileKey, key, col.singular)
	}
	if err := checkArgs(cmd, []string{key}, 1, 1, col.keyArg); err != nil {
		return err
	}
	if etag == "" {
		etag = getString(item, "etag")
	}
	fetched := false
	if etag == "" {
		if etag, err = c.currentEtag(ctx, cl, col, key); err != nil {
			return err
		}
		fetched = true
	}
	setString(item, col.key, key)
	setString(item, "etag", etag)
	resp := col.newUpdate()
	q := url.Values{"updateMask": {strings.Join(paths, ",")}}
	if err := cl.call(ctx, http.MethodPatch, collectionPath(col.plural, key), q, item, resp); err != nil {
		return conflictHint(err, col.singular, key, etag, fetched)
	}
	return c.printItem(o, col, resp)
}

func (c *cli) deleteItem(ctx context.Context, cl *client, o *options, col *collection, key, etag string) error {
	fetched := false
	if etag == "" {
		var err error
		if etag, err = c.currentEtag(ctx, cl, col, key); err != nil {
			return err
		}
		fetched = true
	}
	resp := col.newDelete()
	q := url.Values{"etag": {etag}}
	if err := cl.call(ctx, http.MethodDelete, collectionPath(col.plural, key), q, nil, resp); err != nil {
		return conflictHint(err, col.singular, key, etag, fetched)
	}
	return c.printDeleted(o, col.singular, key, resp)
}

func (c *cli) printDeleted(o *options, singular, key string, resp proto.Message) error {
	if o.json() {
		return writeJSON(c.stdout, resp)
	}
	_, err := fmt.Fprintf(c.stdout, "deleted %s %s (revision %d)\n", singular, clean(key), revisionOf(resp))
	return err
}

func (c *cli) revocationsCommand(ctx context.Context, o *options, args []string) error {
	v, args, err := verb("revocations", args, "list", "create", "delete")
	if err != nil {
		return err
	}
	cmd := "revocations " + v
	fs := newFlagSet(cmd)
	var serial, issuer, fingerprint, reason, etag string
	if v == "create" {
		fs.StringVar(&serial, "serial", "", "certificate serial number in hex")
		fs.StringVar(&issuer, "issuer", "", "issuer DN")
		fs.StringVar(&fingerprint, "fingerprint", "", "SHA-256 fingerprint in hex")
		fs.StringVar(&reason, "reason", "", "why")
	}
	if v == "delete" {
		fs.StringVar(&etag, "etag", "", "the etag the deletion is based on")
	}
	pos, err := parseLeaf(cmd, fs, o, args)
	if err != nil {
		return err
	}
	if v == "delete" {
		err = checkArgs(cmd, pos, 1, 1, "ID")
	} else {
		err = checkArgs(cmd, pos, 0, 0, "")
	}
	if err != nil {
		return err
	}
	var rev *adminv1.Revocation
	if v == "create" {
		if rev, err = newRevocation(serial, issuer, fingerprint, reason); err != nil {
			return err
		}
	}
	cl, err := c.connect(o)
	if err != nil {
		return err
	}
	switch v {
	case "list":
		resp, items, err := c.listAll(ctx, cl, "/v1/revocations", func() proto.Message { return &adminv1.ListRevocationsResponse{} }, "revocations")
		if err != nil {
			return err
		}
		if o.json() {
			return writeJSON(c.stdout, resp)
		}
		return writeRevocations(c.stdout, as[*adminv1.Revocation](items))
	case "create":
		resp := &adminv1.CreateRevocationResponse{}
		if err := cl.call(ctx, http.MethodPost, "/v1/revocations", nil, rev, resp); err != nil {
			return err
		}
		if o.json() {
			return writeJSON(c.stdout, resp)
		}
		return writeRevocations(c.stdout, []*adminv1.Revocation{resp.GetRevocation()})
	}
	id := pos[0]
	fetched := false
	if etag == "" {
		// There is no GetRevocation; find it in the list.
		_, items, err := c.listAll(ctx, cl, "/v1/revocations", func() proto.Message { return &adminv1.ListRevocationsResponse{} }, "revocations")
		if err != nil {
			return err
		}
		for _, it := range as[*adminv1.Revocation](items) {
			if it.GetId() == id {
				etag = it.GetEtag()
			}
		}
		if etag == "" {
			return fmt.Errorf("no revocation with id %q (see msgctl revocations list)", id)
		}
		fetched = true
	}
	resp := &adminv1.DeleteRevocationResponse{}
	if err := cl.call(ctx, http.MethodDelete, collectionPath("revocations", id), url.Values{"etag": {etag}}, nil, resp); err != nil {
		return conflictHint(err, "revocation", id, etag, fetched)
	}
	return c.printDeleted(o, "revocation", id, resp)
}

// newRevocation checks the create flags: a certificate is named either by
// fingerprint or by serial and issuer, and a reason is required. Hex may be
// written with colons, as openssl prints it.
func newRevocation(serial, issuer, fingerprint, reason string) (*adminv1.Revocation, error) {
	const cmd = "revocations create"
	rev := &adminv1.Revocation{Reason: strings.TrimSpace(reason)}
	switch {
	case fingerprint != "" && (serial != "" || issuer != ""):
		return nil, usagef("%s: use either --fingerprint or --serial with --issuer, not both", cmd)
	case fingerprint != "":
		fp := strings.ToLower(strings.ReplaceAll(fingerprint, ":", ""))
		if b, err := hex.DecodeString(fp); err != nil || len(b) != 32 {
			return nil, usagef("%s: --fingerprint: want the SHA-256 fingerprint, 64 hex digits", cmd)
		}
		rev.FingerprintSha256 = fp
	case serial != "" && issuer != "":
		sn := strings.ToLower(strings.ReplaceAll(serial, ":", ""))
		sn = strings.TrimPrefix(sn, "0x")
		if sn == "" || len(sn) > 64 || strings.Trim(sn, "0123456789abcdef") != "" {
			return nil, usagef("%s: --serial: want the serial number in hex", cmd)
		}
		rev.SerialHex = sn
		rev.Issuer = strings.TrimSpace(issuer)
	case serial != "" || issuer != "":
		return nil, usagef("%s: --serial and --issuer go together", cmd)
	default:
		return nil, usagef("%s: name the certificate: --fingerprint HEX, or --serial HEX --issuer DN", cmd)
	}
	if rev.Reason == "" {
		return nil, usagef("%s: --reason is required", cmd)
	}
	return rev, nil
}

func (c *cli) auditCommand(ctx context.Context, o *options, args []string) error {
	const cmd = "audit"
	fs := newFlagSet(cmd)
	var principal, host, decision, kind, start, end string
	var since time.Duration
	limit := 100
	fs.StringVar(&principal, "principal", "", "only this principal")
	fs.StringVar(&host, "host", "", "only this host")
	fs.StringVar(&decision, "decision", "", "allow or deny")
	fs.StringVar(&kind, "kind", "", "forward or admin")
	fs.DurationVar(&since, "since", 0, "only records of the last DURATION")
	fs.StringVar(&start, "start", "", "only records at or after this RFC 3339 time")
	fs.StringVar(&end, "end", "", "only records before this RFC 3339 time")
	fs.IntVar(&limit, "limit", limit, "at most this many records")
	pos, err := parseLeaf(cmd, fs, o, args)
	if err != nil {
		return err
	}
	if err := checkArgs(cmd, pos, 0, 0, ""); err != nil {
		return err
	}
	q := url.Values{}
	if principal != "" {
		q.Set("principal", principal)
	}
	if host != "" {
		q.Set("host", host)
	}
	switch strings.ToLower(decision) {
	case "":
	case "allow":
		q.Set("decision", adminv1.Decision_DECISION_ALLOW.String())
	case "deny":
		q.Set("decision", adminv1.Decision_DECISION_DENY.String())
	default:
		return usagef("%s: --decision %q: want allow or deny", cmd, decision)
	}
	switch strings.ToLower(kind) {
	case "":
	case "forward":
		q.Set("kind", adminv1.RecordKind_RECORD_KIND_FORWARD.String())
	case "admin":
		q.Set("kind", adminv1.RecordKind_RECORD_KIND_ADMIN.String())
	default:
		return usagef("%s: --kind %q: want forward or admin", cmd, kind)
	}
	var startT, endT time.Time
	switch {
	case since != 0 && start != "":
		return usagef("%s: use --since or --start, not both", cmd)
	case since < 0:
		return usagef("%s: --since must be positive", cmd)
	case since > 0:
		startT = c.now().Add(-since)
	case start != "":
		if startT, err = time.Parse(time.RFC3339Nano, start); err != nil {
			return usagef("%s: --start %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", cmd, start)
		}
	}
	if end != "" {
		if endT, err = time.Parse(time.RFC3339Nano, end); err != nil {
			return usagef("%s: --end %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", cmd, end)
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
	if limit < 1 {
		return usagef("%s: --limit must be at least 1", cmd)
	}
	cl, err := c.connect(o)
	if err != nil {
		return err
	}
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
			return err
		}
		merged.Records = append(merged.Records, resp.GetRecords()...)
		token = resp.GetNextPageToken()
		if token == "" {
			break
		}
		if seen[token] {
			return fmt.Errorf("GET /v1/audit: the server returned page token %q twice", clean(token))
		}
		seen[token] = true
	}
	if len(merged.Records) > limit {
		merged.Records = merged.Records[:limit]
	}
	// Scripts can carry on from here with the API's pageToken.
	merged.NextPageToken = token
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
