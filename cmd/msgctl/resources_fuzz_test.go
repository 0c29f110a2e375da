package main

import (
	"bytes"
	"errors"
	"testing"

	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/internal/resource"
	"google.golang.org/protobuf/proto"
)

// FuzzDecodeResource feeds any file to msgctl's resource reader for every
// kind (the decoder itself is fuzzed in internal/protoyaml): it never
// panics, a refusal names the file, and what it accepts is a resource of
// the kind that survives a proto round trip.
func FuzzDecodeResource(f *testing.F) {
	f.Add([]byte(hostYAML))
	f.Add([]byte(ruleYAML))
	f.Add([]byte(`{"rule": {"id": "r", "principals": [{"commonName": "a*"}], "effect": 2}}`))
	f.Add([]byte(`{"revocation": {"fingerprintSha256": "ab", "reason": "lost", "createTime": "2026-01-02T15:04:05Z"}}`))
	f.Add([]byte("timeout: -1.5s\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range resource.All() {
			c := &cli{stdin: bytes.NewReader(data)}
			m, err := c.readItem(k, "-")
			if err != nil {
				var fe *fieldpath.Error
				if errors.As(err, &fe) && fe.File != "stdin" {
					t.Fatalf("%s: error %v does not name the file", k, err)
				}
				continue
			}
			if !k.Is(m) {
				t.Fatalf("%s: read a %T", k, m)
			}
			b, err := proto.Marshal(m)
			if err != nil {
				t.Fatalf("%s: decoded %v does not marshal: %v", k, m, err)
			}
			again := k.New()
			if err := proto.Unmarshal(b, again); err != nil || !proto.Equal(m, again) {
				t.Fatalf("%s: round trip of %v: %v", k, m, err)
			}
		}
	})
}
