// Package fieldpath names a value inside a document or message by its key
// path ("rules[2].hosts[0]") and carries errors about one. [Error] is the one
// error type with a key path that the config file, the host table, the
// policy and the admin API share: a message names the key the same way
// everywhere, and the admin API re-roots a path onto its request
// ("rules[2]" becomes "rule") without touching error text.
package fieldpath

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Path is a key path: field names joined by ".", list indexes as "[i]", e.g.
// "rules[2].hosts[0]". The empty Path is the document or message itself.
// Build paths with [Path.Field] and [Path.Index]: the names are proto field
// names, which hold neither "." nor "[", so every element boundary is
// unambiguous.
type Path string

// Field returns the path of the field name inside p.
func (p Path) Field(name string) Path {
	if p == "" {
		return Path(name)
	}
	return p + "." + Path(name)
}

// Index returns the path of the i-th list element of p.
func (p Path) Index(i int) Path { return p + "[" + Path(strconv.Itoa(i)) + "]" }

// Reroot returns p with its leading part from replaced by to, and whether p
// is from or lies inside it: "rules[2].hosts[0]" re-rooted from "rules[2]"
// to "rule" is "rule.hosts[0]"; "rules[21]" is not inside "rules[2]".
func (p Path) Reroot(from, to Path) (Path, bool) {
	rest, ok := strings.CutPrefix(string(p), string(from))
	if !ok || from == "" {
		return p, false
	}
	switch {
	case rest == "":
		return to, true
	case rest[0] == '[':
		return to + Path(rest), true
	case rest[0] == '.' && to == "":
		return Path(rest[1:]), true
	case rest[0] == '.':
		return to + Path(rest), true
	}
	return p, false
}

// Error is a problem with the value at one key.
type Error struct {
	// Path names the key; empty for the document as a whole.
	Path Path
	// Line is the 1-based line of the key in the source document, or 0
	// when unknown (or the value did not come from a document).
	Line int
	// Msg says what is wrong.
	Msg string
	// File names the source document in the message ("stdin",
	// "rule.yaml"); empty when the reader knows which one it is.
	File string
}

// Errorf returns an [Error] at path p.
func Errorf(p Path, format string, args ...any) *Error {
	return &Error{Path: p, Msg: fmt.Sprintf(format, args...)}
}

// FileError returns an [Error] at p, the key that names a file, saying what
// failed with it: "tls.cert_file: cannot read: /etc/msg/cert.pem: permission
// denied". The file is named once, however err spells it.
func FileError(p Path, what string, err error) *Error {
	reason := err.Error()
	var pe *os.PathError
	if errors.As(err, &pe) {
		reason = fmt.Sprintf("%s: %v", pe.Path, pe.Err)
	}
	return &Error{Path: p, Msg: what + ": " + reason}
}

// Error returns "[FILE: ]PATH[ (line N)]: MSG", e.g.
// "hosts[0].upstrem (line 12): unknown key". An error about the document
// as a whole says "(top level)" when it has a line and "(file)" when not
// (or only the file name, when it has one).
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	switch {
	case e.Path != "":
		b.WriteString(string(e.Path))
	case e.Line > 0:
		b.WriteString("(top level)")
	case e.File == "":
		b.WriteString("(file)")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	if e.Path != "" || e.Line > 0 || e.File == "" {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Reroot returns err with the path of every [*Error] in it (err itself or
// the errors joined in it with [errors.Join]) that lies under from re-rooted
// to to; see [Path.Reroot]. Other errors stay as they are, and err itself is
// returned when nothing changed.
func Reroot(err error, from, to Path) error {
	switch e := err.(type) {
	case *Error:
		p, ok := e.Path.Reroot(from, to)
		if !ok {
			return err
		}
		c := *e
		c.Path = p
		return &c
	case interface{ Unwrap() []error }:
		errs := e.Unwrap()
		out := make([]error, len(errs))
		changed := false
		for i, x := range errs {
			out[i] = Reroot(x, from, to)
			changed = changed || out[i] != x
		}
		if !changed {
			return err
		}
		return errors.Join(out...)
	}
	return err
}
