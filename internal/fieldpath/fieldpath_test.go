package fieldpath_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/msg-gateway/msg/internal/fieldpath"
)

func TestPathBuilding(t *testing.T) {
	t.Parallel()
	var root fieldpath.Path
	for _, tc := range []struct {
		name string
		got  fieldpath.Path
		want string
	}{
		{"field of the root", root.Field("listen"), "listen"},
		{"nested fields", root.Field("tls").Field("cert_file"), "tls.cert_file"},
		{"list element", root.Field("rules").Index(2).Field("hosts").Index(0), "rules[2].hosts[0]"},
		{"index of the root", root.Index(1), "[1]"},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestReroot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		path         fieldpath.Path
		from, to     fieldpath.Path
		want         fieldpath.Path
		wantRerooted bool
	}{
		{"the root itself", "rules[2]", "rules[2]", "rule", "rule", true},
		{"a field below", "rules[2].hosts[0]", "rules[2]", "rule", "rule.hosts[0]", true},
		{"an index below", "hosts[0][1]", "hosts[0]", "host", "host[1]", true},
		{"another element with the same digits first", "rules[21].id", "rules[2]", "rule", "rules[21].id", false},
		{"a field whose name starts alike", "hostsx.y", "hosts", "h", "hostsx.y", false},
		{"elsewhere", "hosts[0].name", "rules[0]", "rule", "hosts[0].name", false},
		{"onto the empty root", "hosts[0].name", "hosts[0]", "", "name", true},
		{"from the empty root", "name", "", "host", "name", false},
	} {
		got, ok := tc.path.Reroot(tc.from, tc.to)
		if got != tc.want || ok != tc.wantRerooted {
			t.Errorf("%s: %q.Reroot(%q, %q) = %q, %v; want %q, %v", tc.name, tc.path, tc.from, tc.to, got, ok, tc.want, tc.wantRerooted)
		}
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  *fieldpath.Error
		want string
	}{
		{"key and line", &fieldpath.Error{Path: "hosts[0].upstrem", Line: 12, Msg: "unknown key"}, "hosts[0].upstrem (line 12): unknown key"},
		{"key only", fieldpath.Errorf("rules[2].hosts[0]", "unknown host %q", "x"), `rules[2].hosts[0]: unknown host "x"`},
		{"document root with a line", &fieldpath.Error{Line: 1, Msg: "expected a mapping"}, "(top level) (line 1): expected a mapping"},
		{"whole file", &fieldpath.Error{Msg: "not valid YAML"}, "(file): not valid YAML"},
		{"named file", &fieldpath.Error{File: "stdin", Path: "bogus", Line: 2, Msg: "unknown key"}, "stdin: bogus (line 2): unknown key"},
		{"named whole file", &fieldpath.Error{File: "h.yaml", Msg: "empty document"}, "h.yaml: empty document"},
		{"named file, document root", &fieldpath.Error{File: "h.yaml", Line: 3, Msg: "x"}, "h.yaml: (top level) (line 3): x"},
		{"file error", fieldpath.FileError("tls.cert_file", "cannot read", &os.PathError{Op: "open", Path: "/c.pem", Err: fs.ErrNotExist}),
			"tls.cert_file: cannot read: /c.pem: file does not exist"},
		{"wrapped file error", fieldpath.FileError("audit.jsonl_file", "cannot open", fmt.Errorf("sink: %w", &os.PathError{Op: "open", Path: "/a", Err: fs.ErrPermission})),
			"audit.jsonl_file: cannot open: /a: permission denied"},
		{"other file error", fieldpath.FileError("tls.key_file", "cannot load key pair", errors.New("tls: bad key")),
			"tls.key_file: cannot load key pair: tls: bad key"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestRerootErrors(t *testing.T) {
	t.Parallel()
	single := fieldpath.Errorf("hosts[0].upstream", "required")
	if got := fieldpath.Reroot(single, "hosts[0]", "host").Error(); got != "host.upstream: required" {
		t.Errorf("single error: got %q", got)
	}
	if single.Path != "hosts[0].upstream" {
		t.Errorf("Reroot changed the original error: %v", single)
	}
	joined := errors.Join(
		fieldpath.Errorf("rules[0].id", "required"),
		fieldpath.Errorf("rules[1].hosts", "at least one host is required"),
		errors.New("not a path error"),
		fieldpath.Errorf("rules[0].hosts[0]", "invalid glob"),
	)
	want := "rule.id: required\nrules[1].hosts: at least one host is required\nnot a path error\nrule.hosts[0]: invalid glob"
	got := fieldpath.Reroot(joined, "rules[0]", "rule")
	if got.Error() != want {
		t.Errorf("joined errors: got %q, want %q", got, want)
	}
	var fe *fieldpath.Error
	if !errors.As(got, &fe) || fe.Path != "rule.id" {
		t.Errorf("the re-rooted join holds no *fieldpath.Error at rule.id: %#v", fe)
	}
	other := fmt.Errorf("wrapped: %w", single)
	if fieldpath.Reroot(other, "hosts[0]", "host") != other {
		t.Error("an error that is neither a path error nor a join was changed")
	}
	if fieldpath.Reroot(joined, "hosts[9]", "host") != joined {
		t.Error("a join with nothing to re-root was rebuilt")
	}
}
