package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/protoyaml"
	"github.com/msg-gateway/msg/internal/resource"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// This file is the one implementation of the resource commands: for every
// kind package resource declares, "COLLECTION VERB" with the verbs its API
// has (list, get, create, update, delete). What is specific to a kind is how
// a table shows it (display.go) and, for revocations, that create takes
// flags instead of a file.

// commandName is the kind's command: "hosts", "enrollment-tokens".
func commandName(k resource.Kind) string { return strings.ReplaceAll(k.Collection(), "_", "-") }

// keyArg names the key in usage messages: "NAME", "ID".
func keyArg(k resource.Kind) string { return strings.ToUpper(string(k.Key())) }

// verbsOf returns the verbs the kind's API has, as msgctl spells them.
func verbsOf(k resource.Kind) []string {
	var out []string
	for _, v := range resource.Verbs() {
		if k.Method(v) != nil {
			out = append(out, strings.ToLower(string(v)))
		}
	}
	return out
}

// resourceArgs are one resource command's flags and arguments.
type resourceArgs struct {
	file, mask, etag string
	// png is where enrollment-tokens create writes the QR code.
	png string
	// fromFlags, when set, builds the resource to create from flags.
	fromFlags func() (proto.Message, error)
	key       string
	paths     []string
}

// createFlags registers the flags a kind that is created from flags takes
// and returns the function that builds the resource from them, or nil.
func createFlags(k resource.Kind, fs *flag.FlagSet, a *resourceArgs, now func() time.Time) func() (proto.Message, error) {
	if k == resource.EnrollmentToken {
		var f tokenFlags
		f.register(fs)
		fs.StringVar(&a.png, "png", "", "also write the bundle's QR code as a PNG image to this file")
		return func() (proto.Message, error) { return f.token(now()) }
	}
	if k != resource.Revocation {
		return nil
	}
	var serial, issuer, fingerprint, reason string
	fs.StringVar(&serial, "serial", "", "certificate serial number in hex")
	fs.StringVar(&issuer, "issuer", "", "issuer DN")
	fs.StringVar(&fingerprint, "fingerprint", "", "SHA-256 fingerprint in hex")
	fs.StringVar(&reason, "reason", "", "why")
	return func() (proto.Message, error) { return newRevocation(serial, issuer, fingerprint, reason) }
}

func (c *cli) resourceCommand(ctx context.Context, o *options, k resource.Kind, args []string) error {
	v, args, err := verb(commandName(k), args, verbsOf(k)...)
	if err != nil {
		return err
	}
	cmd := commandName(k) + " " + v
	a, err := parseResourceArgs(cmd, k, resource.Verb(strings.ToUpper(v[:1])+v[1:]), o, args, c.now)
	if err != nil {
		return err
	}
	var item proto.Message
	if a.fromFlags != nil {
		if item, err = a.fromFlags(); err != nil {
			return err
		}
	}
	cl, err := c.connect(o)
	if err != nil {
		return err
	}
	switch v {
	case "list":
		return c.listCollection(ctx, cl, o, k)
	case "get":
		resp := k.Response(resource.Get)
		if err := cl.call(ctx, http.MethodGet, itemPath(k, a.key), nil, nil, resp); err != nil {
			return err
		}
		return c.printItem(o, k, resp)
	case "create":
		return c.create(ctx, cl, o, k, item, a)
	case "update":
		return c.update(ctx, cl, o, k, a)
	}
	return c.deleteItem(ctx, cl, o, k, a.key, a.etag)
}

// parseResourceArgs parses and checks a resource command's flags and
// arguments; nothing has been sent yet.
func parseResourceArgs(cmd string, k resource.Kind, v resource.Verb, o *options, args []string, now func() time.Time) (*resourceArgs, error) {
	a := &resourceArgs{}
	fs := newFlagSet(cmd)
	if v == resource.Create {
		a.fromFlags = createFlags(k, fs, a, now)
	}
	if (v == resource.Create && a.fromFlags == nil) || v == resource.Update {
		fs.StringVar(&a.file, "f", "", "YAML or JSON file, '-' for stdin")
	}
	if v == resource.Update {
		fs.StringVar(&a.mask, "mask", "", "top-level fields to change")
	}
	if v == resource.Update || v == resource.Delete {
		fs.StringVar(&a.etag, "etag", "", "the etag the write is based on")
	}
	pos, err := parseLeaf(cmd, fs, o, args)
	if err != nil {
		return nil, err
	}
	switch v {
	case resource.List, resource.Create:
		err = checkArgs(cmd, pos, 0, 0, "")
	case resource.Get, resource.Delete:
		err = checkArgs(cmd, pos, 1, 1, keyArg(k))
	case resource.Update:
		err = checkArgs(cmd, pos, 0, 1, keyArg(k))
	}
	if err != nil {
		return nil, err
	}
	if len(pos) == 1 {
		a.key = pos[0]
	}
	if ((v == resource.Create && a.fromFlags == nil) || v == resource.Update) && a.file == "" {
		return nil, usagef("%s: -f FILE is required", cmd)
	}
	if v == resource.Update {
		if a.paths, err = updateMask(k, a.mask); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// itemPath returns the REST path of one resource: "/v1/hosts/<escaped key>".
func itemPath(k resource.Kind, key string) string {
	return k.RESTPath() + "/" + url.PathEscape(key)
}

// updateMask turns --mask into canonical field names, checked against the
// resource's top-level fields. Without --mask it names every field but the
// key and the etag, so that update replaces the resource with the file.
//
// An explicit mask is always sent: without one grpc-gateway derives the mask
// from the keys present in the body, which would leave out the fields the
// file omits (and name the key and etag, which cannot be changed).
func updateMask(k resource.Kind, flagValue string) ([]string, error) {
	md := k.Descriptor()
	immutable := func(fd protoreflect.FieldDescriptor) bool {
		return fd.Name() == k.Key() || fd.Name() == "etag"
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
			return nil, usagef("--mask: %s.%s cannot be changed", k.Singular(), fd.Name())
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
func (c *cli) printItem(o *options, k resource.Kind, resp proto.Message) error {
	if o.json() {
		return writeJSON(c.stdout, resp)
	}
	item := itemOf(resp, k.Singular())
	if item == nil {
		return fmt.Errorf("the response carries no %s", k.Singular())
	}
	return writeItems(c.stdout, k, []proto.Message{item})
}

func (c *cli) listCollection(ctx context.Context, cl *client, o *options, k resource.Kind) error {
	resp, items, err := c.listAll(ctx, cl, k)
	if err != nil {
		return err
	}
	if o.json() {
		return writeJSON(c.stdout, resp)
	}
	return writeItems(c.stdout, k, items)
}

// readItem reads and decodes a resource file; nothing has been sent yet.
func (c *cli) readItem(k resource.Kind, file string) (proto.Message, error) {
	source := file
	if file == "-" {
		source = "stdin"
	}
	data, err := readLimited(file, c.stdin, protoyaml.MaxBytes)
	if err != nil {
		return nil, err
	}
	item := k.New()
	// The config file's keys, and the JSON that get -o json prints (its
	// response wrapper too), so that output can be edited and fed back.
	opts := protoyaml.Options{File: source, ProtoJSON: true, Wrapper: wrapperName(k)}
	if err := protoyaml.Unmarshal(data, item, opts); err != nil {
		return nil, err
	}
	return item, nil
}

// wrapperName is the JSON name of the field that carries one resource in
// the get, create and update responses ("host"), as get -o json prints it.
func wrapperName(k resource.Kind) string {
	for _, v := range []resource.Verb{resource.Get, resource.Create, resource.Update} {
		if md := k.Method(v); md != nil {
			return md.Output().Fields().ByName(protoreflect.Name(k.Singular())).JSONName()
		}
	}
	return k.Singular()
}

// create sends item, or the resource read from a.file.
func (c *cli) create(ctx context.Context, cl *client, o *options, k resource.Kind, item proto.Message, a *resourceArgs) error {
	if item == nil {
		var err error
		if item, err = c.readItem(k, a.file); err != nil {
			return err
		}
		// A file saved from "get" carries an etag; a new resource has none.
		k.SetEtag(item, "")
	}
	var q url.Values
	if a.png != "" {
		q = url.Values{"qrCodePng": {"true"}}
	}
	resp := k.Response(resource.Create)
	if err := cl.call(ctx, http.MethodPost, k.RESTPath(), q, item, resp); err != nil {
		return err
	}
	if r, ok := resp.(*adminv1.CreateEnrollmentTokenResponse); ok {
		return c.printCreatedToken(o, r, a.png)
	}
	return c.printItem(o, k, resp)
}

// currentEtag reads the resource to learn its etag; a kind without a get
// method is looked up in its list.
func (c *cli) currentEtag(ctx context.Context, cl *client, k resource.Kind, key string) (string, error) {
	if k.Method(resource.Get) == nil {
		_, items, err := c.listAll(ctx, cl, k)
		if err != nil {
			return "", err
		}
		for _, it := range items {
			if k.KeyOf(it) == key && k.Etag(it) != "" {
				return k.Etag(it), nil
			}
		}
		return "", fmt.Errorf("no %s with %s %q (see msgctl %s list)", k.Singular(), k.Key(), key, commandName(k))
	}
	resp := k.Response(resource.Get)
	if err := cl.call(ctx, http.MethodGet, itemPath(k, key), nil, nil, resp); err != nil {
		return "", err
	}
	item := itemOf(resp, k.Singular())
	if item == nil || k.Etag(item) == "" {
		return "", fmt.Errorf("the server sent %s %q without an etag", k.Singular(), key)
	}
	return k.Etag(item), nil
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

func (c *cli) update(ctx context.Context, cl *client, o *options, k resource.Kind, a *resourceArgs) error {
	item, err := c.readItem(k, a.file)
	if err != nil {
		return err
	}
	cmd, key, etag := commandName(k)+" update", a.key, a.etag
	switch fileKey := k.KeyOf(item); {
	case key == "" && fileKey == "":
		return usagef("%s: name the %s: msgctl %s %s -f FILE", cmd, k.Singular(), cmd, keyArg(k))
	case key == "":
		key = fileKey
	case fileKey != "" && fileKey != key:
		return usagef("%s: the file is for %s %q, the command names %q; a %s cannot be renamed", cmd, k.Singular(), fileKey, key, k.Singular())
	}
	if err := checkArgs(cmd, []string{key}, 1, 1, keyArg(k)); err != nil {
		return err
	}
	if etag == "" {
		etag = k.Etag(item)
	}
	fetched := false
	if etag == "" {
		if etag, err = c.currentEtag(ctx, cl, k, key); err != nil {
			return err
		}
		fetched = true
	}
	setString(item, k.Key(), key)
	k.SetEtag(item, etag)
	resp := k.Response(resource.Update)
	q := url.Values{"updateMask": {strings.Join(a.paths, ",")}}
	if err := cl.call(ctx, http.MethodPatch, itemPath(k, key), q, item, resp); err != nil {
		return conflictHint(err, k.Singular(), key, etag, fetched)
	}
	return c.printItem(o, k, resp)
}

func (c *cli) deleteItem(ctx context.Context, cl *client, o *options, k resource.Kind, key, etag string) error {
	fetched := false
	if etag == "" {
		var err error
		if etag, err = c.currentEtag(ctx, cl, k, key); err != nil {
			return err
		}
		fetched = true
	}
	resp := k.Response(resource.Delete)
	q := url.Values{"etag": {etag}}
	if err := cl.call(ctx, http.MethodDelete, itemPath(k, key), q, nil, resp); err != nil {
		return conflictHint(err, k.Singular(), key, etag, fetched)
	}
	return c.printDeleted(o, k.Singular(), key, resp)
}

func (c *cli) printDeleted(o *options, singular, key string, resp proto.Message) error {
	if o.json() {
		return writeJSON(c.stdout, resp)
	}
	_, err := fmt.Fprintf(c.stdout, "deleted %s %s (revision %d)\n", singular, clean(key), revisionOf(resp))
	return err
}
