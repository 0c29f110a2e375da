package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Mutant is one deliberate break of a promise: edits that remove the
// behaviour, and the tests that must notice. It is identified by its edits'
// snippets, never by line numbers, so it survives refactors that keep the
// snippet and fails loudly when the snippet is gone.
type Mutant struct {
	// ID names the mutant in docs/SECURITY.md and in reports.
	ID string `yaml:"id"`
	// Promise is what the mutant breaks, in the docs' words.
	Promise string `yaml:"promise"`
	// Edits are applied in order; most mutants have one.
	Edits []Edit `yaml:"edits"`
	// Kill lists the tests that must each fail with the mutant in place.
	Kill []Kill `yaml:"kill"`
}

// Edit replaces the only occurrence of Find in File by Replace.
type Edit struct {
	// File is relative to the module root, or starts with "$GOROOT/" for a
	// file of the standard library.
	File    string `yaml:"file"`
	Find    string `yaml:"find"`
	Replace string `yaml:"replace"`
}

// Kill is one test run that must fail: a package as `go test` takes it and
// a -run pattern.
type Kill struct {
	Pkg string `yaml:"pkg"`
	Run string `yaml:"run"`
}

func (k Kill) String() string { return k.Pkg + " -run '" + k.Run + "'" }

var idPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// loadList reads and checks a mutant list. Unknown keys are errors.
func loadList(r io.Reader) ([]Mutant, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var list []Mutant
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("mutant list: %w", err)
	}
	seen := map[string]bool{}
	for i, m := range list {
		where := fmt.Sprintf("mutant %d (%s)", i+1, m.ID)
		switch {
		case !idPattern.MatchString(m.ID):
			return nil, fmt.Errorf("%s: id must be lower-case words joined by '-'", where)
		case seen[m.ID]:
			return nil, fmt.Errorf("%s: duplicate id", where)
		case strings.TrimSpace(m.Promise) == "":
			return nil, fmt.Errorf("%s: promise is required", where)
		case len(m.Edits) == 0:
			return nil, fmt.Errorf("%s: at least one edit is required", where)
		case len(m.Kill) == 0:
			return nil, fmt.Errorf("%s: at least one kill entry is required", where)
		}
		seen[m.ID] = true
		for j, e := range m.Edits {
			switch {
			case e.File == "" || e.Find == "":
				return nil, fmt.Errorf("%s: edits[%d]: file and find are required", where, j)
			case e.Find == e.Replace:
				return nil, fmt.Errorf("%s: edits[%d]: replace is the same as find", where, j)
			}
		}
		for j, k := range m.Kill {
			if k.Pkg == "" || k.Run == "" {
				return nil, fmt.Errorf("%s: kill[%d]: pkg and run are required", where, j)
			}
			if _, err := regexp.Compile(k.Run); err != nil {
				return nil, fmt.Errorf("%s: kill[%d]: run: %v", where, j, err)
			}
		}
	}
	return list, nil
}

// StaleError says that a mutant's snippet no longer matches its file
// exactly once: the code moved on and the list must follow.
type StaleError struct {
	Mutant, File string
	Count        int
	// Missing says that File itself is gone.
	Missing bool
	// Elsewhere lists the module's other Go files that hold the snippet:
	// where the code most likely moved to.
	Elsewhere []string
}

func (e *StaleError) Error() string {
	hint := ""
	if len(e.Elsewhere) > 0 {
		hint = " (the snippet occurs in " + strings.Join(e.Elsewhere, ", ") + ")"
	}
	if e.Missing {
		return fmt.Sprintf("mutant %s: file %s does not exist%s — update the mutant list", e.Mutant, e.File, hint)
	}
	if e.Count == 0 {
		return fmt.Sprintf("mutant %s: snippet not found in file %s%s — update the mutant list", e.Mutant, e.File, hint)
	}
	return fmt.Sprintf("mutant %s: snippet occurs %d times in file %s — make it unique in the mutant list", e.Mutant, e.Count, e.File)
}

// resolve returns the path of an edit's file.
func resolve(root, goroot, file string) string {
	if rest, ok := strings.CutPrefix(file, "$GOROOT/"); ok {
		return filepath.Join(goroot, filepath.FromSlash(rest))
	}
	return filepath.Join(root, filepath.FromSlash(file))
}

// apply computes the mutated content of every file m edits, keyed by path.
// Several edits of one file apply in order, each to the result of the last.
func (m Mutant) apply(root, goroot string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, e := range m.Edits {
		path := resolve(root, goroot, e.File)
		src, ok := out[path]
		if !ok {
			var err error
			if src, err = os.ReadFile(path); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return nil, &StaleError{Mutant: m.ID, File: e.File, Missing: true, Elsewhere: findSnippet(root, e)}
				}
				return nil, fmt.Errorf("mutant %s: %w", m.ID, err)
			}
		}
		if n := bytes.Count(src, []byte(e.Find)); n != 1 {
			stale := &StaleError{Mutant: m.ID, File: e.File, Count: n}
			if n == 0 {
				stale.Elsewhere = findSnippet(root, e)
			}
			return nil, stale
		}
		out[path] = bytes.Replace(src, []byte(e.Find), []byte(e.Replace), 1)
	}
	return out, nil
}

// findSnippet returns the module's Go files, other than e.File, that hold
// e.Find, for the message of a stale mutant.
func findSnippet(root string, e Edit) []string {
	if strings.HasPrefix(e.File, "$GOROOT/") {
		return nil
	}
	var found []string
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || filepath.ToSlash(rel) == e.File {
			return nil
		}
		if src, err := os.ReadFile(path); err == nil && bytes.Contains(src, []byte(e.Find)) {
			found = append(found, filepath.ToSlash(rel))
		}
		return nil
	})
	return found
}
