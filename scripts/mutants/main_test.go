package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// fixture is a module of its own under testdata: package gate has a
// guarded function (Allowed) and an unguarded one (Double).
const fixture = "testdata/fixture"

func fixtureRunner(t *testing.T) *runner {
	t.Helper()
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	r, err := newRunner(context.Background(), goCmd, fixture, t.TempDir(), time.Minute, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func edit(find, replace string) []Edit {
	return []Edit{{File: "gate/gate.go", Find: find, Replace: replace}}
}

func kill(run ...string) []Kill {
	var ks []Kill
	for _, r := range run {
		ks = append(ks, Kill{Pkg: "./gate", Run: r})
	}
	return ks
}

// TestRun runs every kind of mutant against the fixture module and checks
// the verdicts, and that the fixture's files are untouched afterwards.
func TestRun(t *testing.T) {
	t.Parallel()
	before, err := os.ReadFile(filepath.Join(fixture, "gate/gate.go"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		m      Mutant
		want   Status
		detail string // substring of Result.Detail
	}{
		{"killed", Mutant{ID: "k", Edits: edit("return n > 0", "return n >= 0"), Kill: kill("^TestAllowed$")}, Killed, ""},
		{"survived", Mutant{ID: "s", Edits: edit("return n * 2", "return n * 3"), Kill: kill("^TestDoubleRuns$")}, Survived,
			"-run '^TestDoubleRuns$' passes with the mutant in place"},
		{"killed by one named test only", Mutant{ID: "p", Edits: edit("return n > 0", "return n >= 0"),
			Kill: kill("^TestAllowed$", "^TestDoubleRuns$")}, Survived, "TestDoubleRuns"},
		{"snippet gone", Mutant{ID: "g", Edits: edit("return n > 1", "return true"), Kill: kill("^TestAllowed$")}, Stale,
			"mutant g: snippet not found in file gate/gate.go — update the mutant list"},
		{"snippet twice", Mutant{ID: "a", Edits: edit("return n", "return 0"), Kill: kill("^TestAllowed$")}, Stale,
			"snippet occurs 2 times in file gate/gate.go"},
		{"does not compile", Mutant{ID: "b", Edits: edit("return n > 0", "return n >"), Kill: kill("^TestAllowed$")}, Broken,
			"does not compile"},
		{"edit outside the test binary", Mutant{ID: "o", Edits: []Edit{{File: "other/other.go", Find: "Answer = 42", Replace: "Answer = 43"}},
			Kill: kill("^TestAllowed$")}, Failed, "do not reach the test binary of ./gate"},
		{"two edits of one file", Mutant{ID: "t", Edits: []Edit{
			{File: "gate/gate.go", Find: "return n > 0", Replace: "return n >= 0"},
			{File: "gate/gate.go", Find: "return n * 2", Replace: "return n * 3"},
		}, Kill: kill("^TestAllowed$")}, Killed, ""},
		{"missing file", Mutant{ID: "f", Edits: []Edit{{File: "gate/nope.go", Find: "x", Replace: "y"}}, Kill: kill("^TestAllowed$")}, Stale,
			"file gate/nope.go does not exist"},
		{"snippet moved", Mutant{ID: "m", Edits: []Edit{{File: "gate/moved.go", Find: "Answer = 42", Replace: "Answer = 43"}}, Kill: kill("^TestAllowed$")}, Stale,
			"mutant m: file gate/moved.go does not exist (the snippet occurs in other/other.go) — update the mutant list"},
	}
	r := fixtureRunner(t)
	var all []Mutant
	for _, tt := range tests {
		all = append(all, tt.m)
	}
	if err := r.baseline(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	results := r.runAll(context.Background(), all, 2)
	for i, tt := range tests {
		res := results[i]
		if res.Status != tt.want || !strings.Contains(res.Detail, tt.detail) {
			t.Errorf("%s: %s %q, want %s with %q", tt.name, res.Status, res.Detail, tt.want, tt.detail)
		}
	}
	var out bytes.Buffer
	if bad := report(&out, results, true); bad != len(tests)-2 {
		t.Errorf("report counts %d not killed, want %d:\n%s", bad, len(tests)-2, out.String())
	}
	after, err := os.ReadFile(filepath.Join(fixture, "gate/gate.go"))
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("the fixture's source changed: %v", err)
	}
}

// TestBaselineRefusesUselessKills: a kill entry that names no test, or a
// test that fails without any mutant, stops the run before any mutant.
func TestBaselineRefusesUselessKills(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, run, want string
	}{
		{"no such test", "^TestNothing$", "matches no test"},
		{"test fails without a mutant", "^TestBroken$", "fails without any mutant"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := fixtureRunner(t)
			m := Mutant{ID: "x", Edits: edit("return n > 0", "return n >= 0"), Kill: kill(tt.run)}
			err := r.baseline(context.Background(), []Mutant{m})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("baseline = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

func TestLoadList(t *testing.T) {
	t.Parallel()
	good := `
- id: a-b
  promise: p
  edits: [{file: f.go, find: x, replace: y}]
  kill: [{pkg: ./p, run: ^TestX$}]
`
	list, err := loadList(strings.NewReader(good))
	if err != nil || len(list) != 1 || list[0].Edits[0].Find != "x" || list[0].Kill[0].Run != "^TestX$" {
		t.Fatalf("loadList = %+v, %v", list, err)
	}
	for _, tt := range []struct{ name, yaml, want string }{
		{"unknown key", strings.Replace(good, "promise:", "promis:", 1), "promis"},
		{"bad id", strings.Replace(good, "a-b", "A B", 1), "id must be"},
		{"duplicate id", good + good[1:], "duplicate id"},
		{"no edits", strings.Replace(good, "  edits: [{file: f.go, find: x, replace: y}]\n", "", 1), "at least one edit"},
		{"no kill", strings.Replace(good, "  kill: [{pkg: ./p, run: ^TestX$}]\n", "", 1), "at least one kill"},
		{"no-op edit", strings.Replace(good, "replace: y", "replace: x", 1), "replace is the same as find"},
		{"bad regexp", strings.Replace(good, "^TestX$", "(", 1), "run:"},
		{"no promise", strings.Replace(good, "promise: p", "promise: ' '", 1), "promise is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := loadList(strings.NewReader(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("loadList = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestProjectList checks the project's own list without building anything:
// it loads, and every snippet still occurs exactly once (so a refactor that
// moves a snippet fails here, in the normal test run, naming the mutant).
func TestProjectList(t *testing.T) {
	t.Parallel()
	f, err := os.Open("mutants.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	list, err := loadList(f)
	if err != nil {
		t.Fatal(err)
	}
	r := fixtureRunner(t)
	for _, m := range list {
		if _, err := m.apply("../..", r.goroot); err != nil {
			var stale *StaleError
			if errors.As(err, &stale) {
				t.Error(err)
				continue
			}
			t.Errorf("mutant %s: %v", m.ID, err)
		}
	}
}

// TestProjectKillsExist checks, without building anything, that every test
// the list names is still declared in its package: a renamed or deleted test
// fails here, in `make test`, rather than at the next `make mutants`.
func TestProjectKillsExist(t *testing.T) {
	t.Parallel()
	f, err := os.Open("mutants.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	list, err := loadList(f)
	if err != nil {
		t.Fatal(err)
	}
	top := regexp.MustCompile(`^\^((?:Test|Fuzz)[A-Za-z0-9_]*)\$(?:/|$)`)
	srcs := map[string]string{}
	for _, m := range list {
		for _, k := range m.Kill {
			name := top.FindStringSubmatch(k.Run)
			if name == nil {
				t.Errorf("mutant %s: -run %q does not start with ^TestName$: name one top-level test", m.ID, k.Run)
				continue
			}
			src, ok := srcs[k.Pkg]
			if !ok {
				files, err := filepath.Glob(filepath.Join("../..", k.Pkg, "*_test.go"))
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				for _, file := range files {
					text, err := os.ReadFile(file)
					if err != nil {
						t.Fatal(err)
					}
					b.Write(text)
				}
				src = b.String()
				srcs[k.Pkg] = src
			}
			if !regexp.MustCompile(`(?m)^func ` + name[1] + `\(`).MatchString(src) {
				t.Errorf("mutant %s: package %s declares no %s — update the mutant list", m.ID, k.Pkg, name[1])
			}
		}
	}
}

// TestSecurityDocNamesEveryMutant: docs/SECURITY.md names each promise's
// mutants in brackets ([`id`, ...]); every mutant of the list is named
// there, and every name there is a mutant of the list.
func TestSecurityDocNamesEveryMutant(t *testing.T) {
	t.Parallel()
	f, err := os.Open("mutants.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	list, err := loadList(f)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, group := range regexp.MustCompile("\\[(`[a-z0-9-]+`(?:,\\s*`[a-z0-9-]+`)*)\\]").FindAllStringSubmatch(string(doc), -1) {
		for _, id := range regexp.MustCompile("`([a-z0-9-]+)`").FindAllStringSubmatch(group[1], -1) {
			named[id[1]] = true
		}
	}
	var ids []string
	for _, m := range list {
		ids = append(ids, m.ID)
		if !named[m.ID] {
			t.Errorf("mutant %s is not named in docs/SECURITY.md: name it next to the promise it breaks", m.ID)
		}
	}
	for id := range named {
		if !slices.Contains(ids, id) {
			t.Errorf("docs/SECURITY.md names mutant %s, which is not in mutants.yaml", id)
		}
	}
}

// TestTopLevelSkips: a skipped kill test is caught at the baseline (it
// would pass with any mutant); a skipped subtest is not.
func TestTopLevelSkips(t *testing.T) {
	out := "=== RUN   TestA\n    a_test.go:3: no node\n--- SKIP: TestA (0.00s)\n" +
		"=== RUN   TestB\n    --- SKIP: TestB/ipv6 (0.00s)\n--- PASS: TestB (0.01s)\n--- SKIP: \nPASS\n"
	got := topLevelSkips(out)
	if len(got) != 1 || got[0] != "--- SKIP: TestA (0.00s)" {
		t.Errorf("topLevelSkips = %q, want only TestA's line", got)
	}
}
