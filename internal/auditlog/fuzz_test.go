package auditlog_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/msg-gateway/msg/internal/auditlog"
	"golang.org/x/mod/sumdb/note"
)

// fuzzKey is a fixed log key, so that the seed corpus's signed notes open.
func fuzzKey(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(strings.NewReader(strings.Repeat("fuzz-key", 8)), auditlog.Origin("fuzz"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// FuzzWitnessFile feeds the parser of witness files (the admin API's
// VerifyAuditLog checkpoints and msgctl's --checkpoint): it must return an
// error or notes, never panic, and a note it opens must be a checkpoint of
// the fuzz key's log whose text reads back the same.
func FuzzWitnessFile(f *testing.F) {
	s, v := fuzzKey(f)
	var file []byte
	for i := range 2 {
		n, err := auditlog.Sign(auditlog.Checkpoint{Origin: s.Name(), Size: int64(i * 10), Time: time.Unix(1e9, 0)}, s)
		if err != nil {
			f.Fatal(err)
		}
		file = append(append(file, n...), '\n')
	}
	f.Add(file)
	f.Add([]byte("text\n\n— sig\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		notes, err := auditlog.SplitNotes(data)
		if err != nil {
			return
		}
		for _, n := range notes {
			if len(n) == 0 || !bytes.HasSuffix(n, []byte("\n")) {
				t.Fatalf("SplitNotes returned %q", n)
			}
			c, err := auditlog.Open(n, v)
			if err != nil {
				continue
			}
			if c.Origin != v.Name() || c.Size < 0 {
				t.Fatalf("opened %+v", c)
			}
			again, err := auditlog.ParseText(c.Text())
			if err != nil || again.Size != c.Size || again.Root != c.Root || !again.Time.Equal(c.Time) {
				t.Fatalf("text of %+v reads back as %+v, %v", c, again, err)
			}
		}
	})
}

// FuzzParseText feeds the checkpoint text parser: an error or a checkpoint
// whose text reads back the same, never a panic.
func FuzzParseText(f *testing.F) {
	f.Add("msg-gateway/audit/gw\n7\n" + strings.Repeat("A", 43) + "=\ntime 2026-03-04T05:06:07Z\n")
	f.Add("o\n0\n" + strings.Repeat("A", 43) + "=\ntime 2026-03-04T05:06:07.123+01:00\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := auditlog.ParseText(text)
		if err != nil {
			return
		}
		again, err := auditlog.ParseText(c.Text())
		if err != nil || again.Origin != c.Origin || again.Size != c.Size || again.Root != c.Root || !again.Time.Equal(c.Time) {
			t.Fatalf("%q parsed as %+v, its text reads back as %+v, %v", text, c, again, err)
		}
	})
}
