package relay_test

import (
	"errors"
	"slices"
	"testing"

	adminv1 "github.com/msg-gateway/msg/gen/msg/admin/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/server/relay"
)

// TestTableHostOptions checks the host settings that widen what a host
// accepts: they compile into its options, a host not in the table has the
// strict defaults, and extra_methods never admits CONNECT or TRACE.
func TestTableHostOptions(t *testing.T) {
	t.Parallel()
	tbl, err := relay.NewTable([]*adminv1.Host{{
		Name: "dav.internal", Upstream: "http://dav.corp", AllowPathParameters: true,
		ExtraMethods: []string{"PROPFIND", "MKCOL"}, AllowUnderscoreHeaders: true, AllowMethodOverride: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Close()
	got := tbl.HostOptions("dav.internal")
	if !got.AllowPathParameters || !got.AllowUnderscoreHeaders || !got.AllowMethodOverride || !slices.Equal(got.ExtraMethods, []string{"PROPFIND", "MKCOL"}) {
		t.Errorf("HostOptions(dav.internal) = %+v", got)
	}
	if got := tbl.HostOptions("other.internal"); got.AllowPathParameters || got.AllowUnderscoreHeaders || got.AllowMethodOverride || got.ExtraMethods != nil {
		t.Errorf("HostOptions of an unknown host = %+v, want the defaults", got)
	}

	for _, tt := range []struct {
		name    string
		methods []string
		want    string
	}{
		{"connect", []string{"CONNECT"}, "hosts[0].extra_methods[0]: CONNECT and TRACE are never relayed"},
		{"trace", []string{"PROPFIND", "TRACE"}, "hosts[0].extra_methods[1]: CONNECT and TRACE are never relayed"},
		{"lower case", []string{"propfind"}, `hosts[0].extra_methods[0]: must be written in upper case "PROPFIND"`},
		{"not a token", []string{"PROP FIND"}, "hosts[0].extra_methods[0]: method is not a valid token"},
		{"standard", []string{"GET"}, "hosts[0].extra_methods[0]: every host accepts GET already"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := relay.NewTable([]*adminv1.Host{{Name: "a.internal", Upstream: "http://a.corp", ExtraMethods: tt.methods}})
			var te *fieldpath.Error
			if !errors.As(err, &te) || err.Error() != tt.want {
				t.Fatalf("NewTable error = %v, want %q", err, tt.want)
			}
		})
	}
}
