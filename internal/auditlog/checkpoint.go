package auditlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// originPrefix starts every log's origin; the instance id follows.
const originPrefix = "msg-gateway/audit/"

// maxNoteBytes bounds one signed checkpoint: four short lines and one
// signature are far below it.
const maxNoteBytes = 4 << 10

// Origin returns the origin of an instance's log: the first line of its
// checkpoints and the name of its key.
func Origin(instance string) string { return originPrefix + instance }

// Checkpoint is a statement of a log's size and Merkle tree root at a time.
type Checkpoint struct {
	// Origin names the log (see [Origin]).
	Origin string
	// Size is the number of records the tree holds.
	Size int64
	// Root is the RFC 6962 root of the tree.
	Root tlog.Hash
	// Time is when the checkpoint was signed.
	Time time.Time
}

// Text returns the checkpoint's note text: the C2SP tlog-checkpoint lines
// (origin, size, base64 root) and one extension line with the time.
func (c Checkpoint) Text() string {
	return fmt.Sprintf("%s\n%d\n%s\ntime %s\n", c.Origin, c.Size,
		base64.StdEncoding.EncodeToString(c.Root[:]), c.Time.UTC().Format(time.RFC3339Nano))
}

// ParseText reads a checkpoint's note text as [Checkpoint.Text] writes it,
// strictly: exactly those four lines.
func ParseText(text string) (Checkpoint, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 5 || lines[4] != "" {
		return Checkpoint{}, errors.New("checkpoint: want 4 lines (origin, size, root hash, time)")
	}
	var c Checkpoint
	c.Origin = lines[0]
	if c.Origin == "" || strings.ContainsAny(c.Origin, " \t+") {
		return Checkpoint{}, errors.New("checkpoint: bad origin line")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return Checkpoint{}, errors.New("checkpoint: bad tree size line")
	}
	c.Size = size
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, errors.New("checkpoint: bad root hash line")
	}
	copy(c.Root[:], root)
	ts, ok := strings.CutPrefix(lines[3], "time ")
	if !ok {
		return Checkpoint{}, errors.New("checkpoint: bad time line")
	}
	if c.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
		return Checkpoint{}, errors.New("checkpoint: bad time line")
	}
	return c, nil
}

// Sign returns c as a note signed by s, whose name must be c's origin.
func Sign(c Checkpoint, s note.Signer) ([]byte, error) {
	if s.Name() != c.Origin {
		return nil, fmt.Errorf("checkpoint: signer %q is not the log %q", s.Name(), c.Origin)
	}
	return note.Sign(&note.Note{Text: c.Text()}, s)
}

// Open checks that msg is a checkpoint signed by v's key and returns it.
// The checkpoint's origin must be v's name: a checkpoint of another
// instance's log is refused, whoever signed it.
func Open(msg []byte, v note.Verifier) (Checkpoint, error) {
	if len(msg) > maxNoteBytes {
		return Checkpoint{}, errors.New("checkpoint: too long")
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			names := make([]string, 0, len(unverified.Note.UnverifiedSigs))
			for _, s := range unverified.Note.UnverifiedSigs {
				names = append(names, s.Name)
			}
			return Checkpoint{}, fmt.Errorf("checkpoint: not signed by the key of %s (signed by %s)", v.Name(), strings.Join(names, ", "))
		}
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	c, err := ParseText(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint: of log %q, not %q", c.Origin, v.Name())
	}
	return c, nil
}

// SplitNotes splits a file of signed notes, as a witness file holds them,
// into the notes: each is text lines, a blank line and signature lines
// ("— name sig"); blank lines between notes are ignored. It checks the
// shape only; [Open] checks each note.
func SplitNotes(data []byte) ([][]byte, error) {
	var notes [][]byte
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	sigPrefix := []byte("— ")
	for i := 0; i < len(lines); {
		if isBlank(lines[i]) {
			i++
			continue
		}
		start, lineNo := i, i+1
		for i < len(lines) && !isBlank(lines[i]) {
			i++
		}
		if i == len(lines) {
			return nil, fmt.Errorf("line %d: a note without signatures", lineNo)
		}
		i++ // the blank line before the signatures
		sigs := i
		for i < len(lines) && bytes.HasPrefix(lines[i], sigPrefix) {
			i++
		}
		if i == sigs {
			return nil, fmt.Errorf("line %d: a note without signatures", lineNo)
		}
		if !bytes.HasSuffix(lines[i-1], []byte("\n")) {
			return nil, fmt.Errorf("line %d: the note does not end with a newline", lineNo)
		}
		n := bytes.Join(lines[start:i], nil)
		if len(n) > maxNoteBytes {
			return nil, fmt.Errorf("line %d: a note longer than %d bytes", lineNo, maxNoteBytes)
		}
		notes = append(notes, n)
	}
	return notes, nil
}

func isBlank(line []byte) bool { return len(bytes.TrimRight(line, "\r\n")) == 0 }
