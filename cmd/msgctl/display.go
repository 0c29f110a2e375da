package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/resource"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// column is one column of a resource table.
type column struct {
	header string
	value  func(proto.Message) string
}

// col adapts a typed cell function.
func col[T proto.Message](header string, value func(T) string) column {
	return column{header: header, value: func(m proto.Message) string { return value(m.(T)) }}
}

// columnsOf returns how a table shows kind k. A kind without its own columns
// shows its key and etag.
func columnsOf(k resource.Kind) []column {
	switch k {
	case resource.Host:
		return []column{
			col("NAME", (*adminv1.Host).GetName),
			col("UPSTREAM", (*adminv1.Host).GetUpstream),
			col("TIMEOUT", func(h *adminv1.Host) string { return formatDuration(h.GetTimeout()) }),
			col("ETAG", (*adminv1.Host).GetEtag),
		}
	case resource.Rule:
		return []column{
			col("ID", (*adminv1.Rule).GetId),
			col("EFFECT", func(r *adminv1.Rule) string { return shortEnum(r.GetEffect().String(), "EFFECT_") }),
			col("PRINCIPALS", func(r *adminv1.Rule) string { return joinEach(r.GetPrincipals(), formatPrincipal) }),
			col("HOSTS", func(r *adminv1.Rule) string { return strings.Join(r.GetHosts(), ",") }),
			col("METHODS", func(r *adminv1.Rule) string { return orAny(strings.Join(r.GetMethods(), ",")) }),
			col("PATHS", func(r *adminv1.Rule) string { return orAny(joinEach(r.GetPaths(), formatPath)) }),
			col("ETAG", (*adminv1.Rule).GetEtag),
		}
	case resource.Revocation:
		return []column{
			col("ID", (*adminv1.Revocation).GetId),
			col("SERIAL/FINGERPRINT", func(r *adminv1.Revocation) string {
				if r.GetFingerprintSha256() == "" {
					return "sn:" + r.GetSerialHex() + " issuer:" + r.GetIssuer()
				}
				return "fp:" + r.GetFingerprintSha256()
			}),
			col("REASON", (*adminv1.Revocation).GetReason),
			col("CREATED", func(r *adminv1.Revocation) string { return formatTime(r.GetCreateTime()) }),
		}
	case resource.EnrollmentToken:
		return []column{
			col("ID", (*adminv1.EnrollmentToken).GetId),
			col("IDENTITY", func(t *adminv1.EnrollmentToken) string { return formatIdentity(t.GetIdentity()) }),
			col("USES", func(t *adminv1.EnrollmentToken) string { return fmt.Sprintf("%d/%d", t.GetUses(), t.GetMaxUses()) }),
			col("EXPIRES", func(t *adminv1.EnrollmentToken) string { return formatTime(t.GetExpireTime()) }),
			col("CERT_LIFETIME", func(t *adminv1.EnrollmentToken) string { return formatDuration(t.GetCertLifetime()) }),
			col("CREATOR", (*adminv1.EnrollmentToken).GetCreator),
			col("ETAG", (*adminv1.EnrollmentToken).GetEtag),
		}
	case resource.Device:
		return []column{
			col("ID", (*adminv1.Device).GetId),
			col("IDENTITY", func(d *adminv1.Device) string { return formatIdentity(d.GetIdentity()) }),
			col("SERIAL", func(d *adminv1.Device) string { return d.GetCertificate().GetSerialHex() }),
			col("EXPIRES", func(d *adminv1.Device) string { return formatTime(d.GetCertificate().GetNotAfter()) }),
			col("RENEWED", func(d *adminv1.Device) string { return orNever(formatTime(d.GetLastRenewTime())) }),
			col("ETAG", (*adminv1.Device).GetEtag),
		}
	}
	return []column{
		{header: keyArg(k), value: k.KeyOf},
		{header: "ETAG", value: k.Etag},
	}
}

// writeItems prints resources of kind k as a table.
func writeItems(w io.Writer, k resource.Kind, items []proto.Message) error {
	cols := columnsOf(k)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.header
	}
	t := newTable(w, header...)
	for _, m := range items {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.value(m)
		}
		t.row(cells...)
	}
	return t.flush()
}

func joinEach[T any](items []T, format func(T) string) string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = format(it)
	}
	return strings.Join(out, ",")
}

// listAll follows the pages of kind k's list method and returns the first
// response with every page's items appended.
func (c *cli) listAll(ctx context.Context, cl *client, k resource.Kind) (proto.Message, []proto.Message, error) {
	path, field := k.RESTPath(), protoreflect.Name(k.Collection())
	var merged proto.Message
	var all protoreflect.List
	seen := map[string]bool{}
	token := ""
	for {
		q := url.Values{"pageSize": {"1000"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		resp := k.Response(resource.List)
		if err := cl.call(ctx, http.MethodGet, path, q, nil, resp); err != nil {
			return nil, nil, err
		}
		if merged == nil {
			merged = resp
			all = merged.ProtoReflect().Mutable(fieldOf(merged, field)).List()
		} else {
			list := resp.ProtoReflect().Get(fieldOf(resp, field)).List()
			for i := 0; i < list.Len(); i++ {
				all.Append(list.Get(i))
			}
			if a, b := revisionOf(merged), revisionOf(resp); a != b {
				fmt.Fprintf(c.stderr, "msgctl: warning: the list changed while it was read (revision %d to %d); run again for a consistent view\n", a, b)
			}
		}
		if token = getString(resp, "next_page_token"); token == "" {
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

// fieldOf returns m's field called name; the names used here exist in the
// generated messages (package resource checks the pattern), so a nil result
// is a programming error.
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

func revisionOf(m proto.Message) int64 {
	fd := m.ProtoReflect().Descriptor().Fields().ByName("revision")
	if fd == nil {
		return 0
	}
	return m.ProtoReflect().Get(fd).Int()
}

// orNever shows an unset time as "never".
func orNever(s string) string {
	if s == "" {
		return "never"
	}
	return s
}
