package httpmsg_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/msg-gateway/msg/internal/httpmsg"
)

func TestParseLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{name: "zero", in: "0", want: 0, ok: true},
		{name: "plain", in: "1048576", want: 1 << 20, ok: true},
		{name: "leading zeros", in: "007", want: 7, ok: true},
		{name: "eighteen digits", in: "999999999999999999", want: 999999999999999999, ok: true},
		{name: "nineteen digits", in: "1000000000000000000"},
		{name: "overflow", in: "99999999999999999999999"},
		{name: "empty", in: ""},
		{name: "negative", in: "-1"},
		{name: "plus", in: "+5"},
		{name: "list", in: "5, 5"},
		{name: "inner space", in: "5 5"},
		{name: "outer space", in: " 5"},
		{name: "hex", in: "0x10"},
		{name: "underscore", in: "1_000"},
		{name: "non-ASCII digit", in: "５"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := httpmsg.ParseLength(tt.in)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("ParseLength(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzParseLength checks that an accepted value is exactly a run of decimal
// digits that fits an int64 and means what strconv reads, and that nothing
// else is accepted.
func FuzzParseLength(f *testing.F) {
	for _, s := range []string{"0", "42", "007", "999999999999999999", "-1", "+1", "1 ", "1,1", "0x1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		n, ok := httpmsg.ParseLength(v)
		digits := v != "" && len(v) <= 18 && strings.Trim(v, "0123456789") == ""
		if ok != digits {
			t.Fatalf("ParseLength(%q) ok = %v, want %v", v, ok, digits)
		}
		if !ok {
			if n != 0 {
				t.Fatalf("ParseLength(%q) = %d with !ok", v, n)
			}
			return
		}
		if want, err := strconv.ParseInt(v, 10, 64); err != nil || n != want || n < 0 {
			t.Fatalf("ParseLength(%q) = %d, strconv says %d, %v", v, n, want, err)
		}
	})
}

func TestBodyAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method string
		code   int
		want   bool
	}{
		{http.MethodGet, 200, true},
		{http.MethodPost, 201, true},
		{http.MethodGet, 404, true},
		{http.MethodGet, 500, true},
		{http.MethodGet, 205, true},
		{http.MethodGet, 99, true}, // not a status an upstream can send; the relay decides nothing for it
		{http.MethodHead, 200, false},
		{http.MethodHead, 404, false},
		{http.MethodGet, 100, false},
		{http.MethodGet, 103, false},
		{http.MethodGet, 199, false},
		{http.MethodGet, 204, false},
		{http.MethodPut, 204, false},
		{http.MethodGet, 304, false},
	}
	for _, tt := range tests {
		if got := httpmsg.BodyAllowed(tt.method, tt.code); got != tt.want {
			t.Errorf("BodyAllowed(%s, %d) = %v, want %v", tt.method, tt.code, got, tt.want)
		}
	}
}
