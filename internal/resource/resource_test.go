package resource_test

import (
	"strings"
	"testing"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/resource"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestKindsMatchTheAPI checks every declaration against the AdminService
// descriptor: the key and etag fields exist, every method's request and
// response carry the resource where the kind's code expects it, and the REST
// path is the one the google.api.http annotation routes.
func TestKindsMatchTheAPI(t *testing.T) {
	t.Parallel()
	for _, k := range resource.All() {
		fields := k.Descriptor().Fields()
		for _, name := range []protoreflect.Name{k.Key(), "etag"} {
			if fd := fields.ByName(name); fd == nil || fd.Kind() != protoreflect.StringKind || fd.IsList() {
				t.Errorf("%s: %s has no string field %s", k, k.Name(), name)
			}
		}
		for _, v := range []resource.Verb{resource.List, resource.Delete} {
			if k.Method(v) == nil {
				t.Errorf("%s: AdminService has no %s", k, k.MethodName(v))
			}
		}
		list := k.Method(resource.List)
		if list == nil {
			continue
		}
		wantFields(t, list.Input(), "page_size", "page_token")
		wantFields(t, list.Output(), k.Collection(), "next_page_token", "revision")
		if md := k.Method(resource.Get); md != nil {
			wantFields(t, md.Input(), string(k.Key()))
			wantFields(t, md.Output(), k.Singular())
		}
		if md := k.Method(resource.Create); md != nil {
			wantFields(t, md.Input(), k.Singular())
			wantFields(t, md.Output(), k.Singular())
		}
		if md := k.Method(resource.Update); md != nil {
			wantFields(t, md.Input(), k.Singular(), "update_mask")
			wantFields(t, md.Output(), k.Singular())
		}
		wantFields(t, k.Method(resource.Delete).Input(), string(k.Key()), "etag")
		wantFields(t, k.Method(resource.Delete).Output(), "revision")
		rule := proto.GetExtension(list.Options(), annotations.E_Http).(*annotations.HttpRule)
		if got := rule.GetGet(); got != k.RESTPath() {
			t.Errorf("%s: RESTPath %q, the API routes %s at %q", k, k.RESTPath(), list.Name(), got)
		}
		for _, v := range resource.Verbs() {
			if md := k.Method(v); md != nil && k.Response(v).ProtoReflect().Descriptor() != md.Output() {
				t.Errorf("%s: Response(%s) is not %s", k, v, md.Output().FullName())
			}
		}
	}
}

func wantFields(t *testing.T, md protoreflect.MessageDescriptor, names ...string) {
	t.Helper()
	for _, n := range names {
		if md.Fields().ByName(protoreflect.Name(n)) == nil {
			t.Errorf("%s has no field %s", md.FullName(), n)
		}
	}
}

// TestEveryResourceIsDeclared fails when the API gains a resource (a
// message with create or delete methods) that no kind declares.
func TestEveryResourceIsDeclared(t *testing.T) {
	t.Parallel()
	declared := map[string]bool{}
	for _, k := range resource.All() {
		declared[k.Name()] = true
	}
	methods := adminv1.File_msg_admin_v1_admin_proto.Services().ByName("AdminService").Methods()
	for i := 0; i < methods.Len(); i++ {
		name := string(methods.Get(i).Name())
		for _, v := range []resource.Verb{resource.Create, resource.Delete} {
			if msg, ok := strings.CutPrefix(name, string(v)); ok && !declared[msg] {
				t.Errorf("AdminService.%s works on a resource no kind declares: declare %s in package resource", name, msg)
			}
		}
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind                           resource.Kind
		str, name, singular, list, get string
		rest                           string
	}{
		{resource.Host, "hosts", "Host", "host", "ListHosts", "GetHost", "/v1/hosts"},
		{resource.Rule, "rules", "Rule", "rule", "ListRules", "GetRule", "/v1/rules"},
		{resource.Revocation, "revocations", "Revocation", "revocation", "ListRevocations", "GetRevocation", "/v1/revocations"},
	} {
		k := tc.kind
		got := []string{k.String(), k.Name(), k.Singular(), k.MethodName(resource.List), k.MethodName(resource.Get), k.RESTPath()}
		want := []string{tc.str, tc.name, tc.singular, tc.list, tc.get, tc.rest}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%v: got %q, want %q", k, got, want)
		}
	}
	if resource.Revocation.Method(resource.Get) != nil || resource.Revocation.Response(resource.Update) != nil {
		t.Error("revocations have a get or an update method")
	}
	if k := resource.Kind(0); k.Valid() || k.String() != "kind(0)" {
		t.Errorf("the zero kind: valid %v, %q", k.Valid(), k.String())
	}
	if got := resource.Host.FullMethod(resource.List); got != adminv1.AdminService_ListHosts_FullMethodName {
		t.Errorf("FullMethod = %q", got)
	}
}

func TestAccessors(t *testing.T) {
	t.Parallel()
	h := &adminv1.Host{Name: "a.internal", Etag: "3"}
	if resource.Host.KeyOf(h) != "a.internal" || resource.Host.Etag(h) != "3" {
		t.Errorf("KeyOf, Etag = %q, %q", resource.Host.KeyOf(h), resource.Host.Etag(h))
	}
	resource.Host.SetEtag(h, "")
	if h.GetEtag() != "" {
		t.Error("SetEtag did not clear the etag")
	}
	if !resource.Host.Is(h) || resource.Rule.Is(h) || resource.Host.Is(nil) {
		t.Error("Is answers wrongly")
	}
	if _, ok := resource.Rule.New().(*adminv1.Rule); !ok {
		t.Error("New does not return a *adminv1.Rule")
	}
}
