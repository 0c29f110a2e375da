package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Status is the outcome for one mutant.
type Status string

// The outcomes. Only Killed is a success: a mutant that does not compile
// proves nothing about the tests, and a stale snippet means the list no
// longer describes the code.
const (
	Killed   Status = "killed"
	Survived Status = "SURVIVED"
	Broken   Status = "BROKEN"
	Stale    Status = "STALE"
	Failed   Status = "ERROR"
)

// Result is what running one mutant found.
type Result struct {
	Mutant Mutant
	Status Status
	// Detail says why, for every status but Killed.
	Detail string
	Kills  []KillResult
	Took   time.Duration
}

// KillResult is one kill entry's test run against the mutant.
type KillResult struct {
	Kill   Kill
	Killed bool
	// Failures are the test binary's "--- FAIL" and panic lines.
	Failures []string
	// Output is the test binary's whole output.
	Output string
}

// runner builds and runs test binaries. Its fields are set before use and
// read-only afterwards, except the baseline maps, which baseline fills
// before any mutant runs.
type runner struct {
	goCmd   string
	root    string // the module root, absolute
	goroot  string
	work    string // scratch directory, absolute
	timeout time.Duration
	verbose bool // run tests with -test.v and report the output of survivors
	log     io.Writer

	pkgDir   map[string]string   // package -> its source directory
	baseHash map[string][32]byte // package -> hash of its unmutated test binary
}

func newRunner(ctx context.Context, goCmd, root, work string, timeout time.Duration, log io.Writer) (*runner, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	r := &runner{goCmd: goCmd, root: abs, work: work, timeout: timeout, log: log,
		pkgDir: map[string]string{}, baseHash: map[string][32]byte{}}
	out, err := r.goOutput(ctx, "env", "GOROOT")
	if err != nil {
		return nil, err
	}
	r.goroot = strings.TrimSpace(out)
	return r, nil
}

func (r *runner) goOutput(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, r.goCmd, args...)
	cmd.Dir = r.root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w\n%s", r.goCmd, strings.Join(args, " "), err, head(out.String(), 30))
	}
	return out.String(), nil
}

// build compiles pkg's test binary (no -race: mutants must fail the tests'
// logic, not a detector) with the given overlay file ("" for none).
func (r *runner) build(ctx context.Context, pkg, overlay, bin string) (string, error) {
	// No debug information: the binaries are run once, and linking is most
	// of a build's time.
	args := []string{"test", "-c", "-ldflags=-s -w", "-o", bin}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	return r.goOutput(ctx, append(args, pkg)...)
}

func hashFile(path string) ([32]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(data), nil
}

// runTests runs a test binary in its package's directory, as go test does,
// and reports whether it passed and what failed.
func (r *runner) runTests(ctx context.Context, bin, pkg, pattern string, verbose bool) (passed bool, failures []string, output string, err error) {
	args := []string{"-test.run=" + pattern, "-test.count=1", "-test.timeout=" + r.timeout.String()}
	if verbose || r.verbose {
		args = append(args, "-test.v")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = r.pkgDir[pkg]
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	var exit *exec.ExitError
	switch {
	case runErr == nil:
		return true, nil, out.String(), nil
	case errors.As(runErr, &exit) && ctx.Err() == nil:
		return false, failureLines(out.String()), out.String(), nil
	default:
		return false, nil, out.String(), fmt.Errorf("running %s: %w", pkg, runErr)
	}
}

// topLevelSkips returns the "--- SKIP" lines of top-level tests in verbose
// test output (subtests may skip cases on purpose).
func topLevelSkips(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		name, ok := strings.CutPrefix(l, "--- SKIP: ")
		test, _, _ := strings.Cut(name, " ")
		if ok && !strings.Contains(test, "/") {
			lines = append(lines, l)
		}
	}
	return lines
}

// failureLines picks what says why a test binary failed.
func failureLines(out string) []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "--- FAIL") || strings.HasPrefix(l, "panic:") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		lines = append(lines, head(out, 3))
	}
	return lines
}

func head(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...\n")
	}
	return strings.TrimRight(strings.Join(lines, ""), "\n")
}

// topLevel is the part of a -run pattern that -test.list understands.
func topLevel(pattern string) string {
	first, _, _ := strings.Cut(pattern, "/")
	return first
}

// baseline builds each package's unmutated test binary and runs every kill
// entry against it: each must name at least one test and pass, or a
// failure under a mutant would prove nothing.
func (r *runner) baseline(ctx context.Context, mutants []Mutant) error {
	dir := filepath.Join(r.work, "baseline")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	seen := map[Kill]bool{}
	for _, m := range mutants {
		for _, k := range m.Kill {
			if seen[k] {
				continue
			}
			seen[k] = true
			bin, err := r.baselineBinary(ctx, k.Pkg, dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(r.log, "baseline  %s\n", k)
			listed, err := exec.CommandContext(ctx, bin, "-test.list="+topLevel(k.Run)).Output()
			if err != nil {
				return fmt.Errorf("baseline: listing the tests of %s: %w", k.Pkg, err)
			}
			if !hasTestName(string(listed)) {
				return fmt.Errorf("baseline: %s matches no test (mutant %s)", k, m.ID)
			}
			// Verbose, to see skips: a test that skips (a tool it needs is
			// missing) passes with or without the mutant and so kills none.
			passed, failures, out, err := r.runTests(ctx, bin, k.Pkg, k.Run, true)
			if err != nil {
				return fmt.Errorf("baseline: %w", err)
			}
			if !passed {
				return fmt.Errorf("baseline: %s fails without any mutant, so it cannot judge one:\n  %s\n%s",
					k, strings.Join(failures, "\n  "), head(out, 40))
			}
			if skips := topLevelSkips(out); len(skips) > 0 {
				return fmt.Errorf("baseline: %s skips without any mutant, so it cannot judge one (mutant %s):\n  %s\n%s",
					k, m.ID, strings.Join(skips, "\n  "), head(out, 40))
			}
		}
	}
	return nil
}

var testName = regexp.MustCompile(`(?m)^(Test|Fuzz|Example)\w*$`)

func hasTestName(list string) bool { return testName.MatchString(list) }

func (r *runner) baselineBinary(ctx context.Context, pkg, dir string) (string, error) {
	bin := filepath.Join(dir, binName(pkg))
	if _, ok := r.baseHash[pkg]; ok {
		return bin, nil
	}
	fmt.Fprintf(r.log, "build     %s\n", pkg)
	if _, err := r.build(ctx, pkg, "", bin); err != nil {
		return "", fmt.Errorf("baseline: building %s: %w", pkg, err)
	}
	sum, err := hashFile(bin)
	if err != nil {
		return "", err
	}
	out, err := r.goOutput(ctx, "list", "-f", "{{.Dir}}", pkg)
	if err != nil {
		return "", err
	}
	r.baseHash[pkg] = sum
	r.pkgDir[pkg] = strings.TrimSpace(out)
	return bin, nil
}

func binName(pkg string) string {
	name := strings.Trim(strings.NewReplacer("/", "_", ".", "_").Replace(pkg), "_")
	if name == "" {
		name = "root"
	}
	return name + ".test"
}

// overlay is the JSON file `go build -overlay` reads.
type overlay struct {
	Replace map[string]string
}

// run applies m through an overlay, builds each package it names and runs
// every kill entry.
func (r *runner) run(ctx context.Context, m Mutant) (res Result) {
	start := time.Now()
	res.Mutant = m
	defer func() { res.Took = time.Since(start) }()
	files, err := m.apply(r.root, r.goroot)
	if err != nil {
		var stale *StaleError
		if errors.As(err, &stale) {
			res.Status, res.Detail = Stale, err.Error()
		} else {
			res.Status, res.Detail = Failed, err.Error()
		}
		return res
	}
	// The mutated sources live outside every package directory: a file in a
	// package's directory would be seen as part of it.
	dir, err := os.MkdirTemp(r.work, m.ID+"-")
	if err != nil {
		res.Status, res.Detail = Failed, err.Error()
		return res
	}
	defer os.RemoveAll(dir)
	ov := overlay{Replace: map[string]string{}}
	i := 0
	for path, data := range files {
		i++
		tmp := filepath.Join(dir, fmt.Sprintf("%d-%s", i, filepath.Base(path)))
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			res.Status, res.Detail = Failed, err.Error()
			return res
		}
		ov.Replace[path] = tmp
	}
	ovFile := filepath.Join(dir, "overlay.json")
	if data, err := json.Marshal(ov); err != nil {
		res.Status, res.Detail = Failed, err.Error()
		return res
	} else if err := os.WriteFile(ovFile, data, 0o644); err != nil {
		res.Status, res.Detail = Failed, err.Error()
		return res
	}

	bins := map[string]string{}
	for _, k := range m.Kill {
		if _, ok := bins[k.Pkg]; ok {
			continue
		}
		bin := filepath.Join(dir, binName(k.Pkg))
		if out, err := r.build(ctx, k.Pkg, ovFile, bin); err != nil {
			res.Status = Broken
			res.Detail = fmt.Sprintf("the mutant does not compile in %s (a broken mutant proves nothing; fix the replacement):\n%s", k.Pkg, head(out, 15))
			if ctx.Err() != nil {
				res.Status, res.Detail = Failed, ctx.Err().Error()
			}
			return res
		}
		sum, err := hashFile(bin)
		if err != nil {
			res.Status, res.Detail = Failed, err.Error()
			return res
		}
		if sum == r.baseHash[k.Pkg] {
			res.Status = Failed
			res.Detail = fmt.Sprintf("the edits do not reach the test binary of %s: name a package that compiles the edited file", k.Pkg)
			return res
		}
		bins[k.Pkg] = bin
	}
	res.Status = Killed
	for _, k := range m.Kill {
		passed, failures, out, err := r.runTests(ctx, bins[k.Pkg], k.Pkg, k.Run, false)
		if err != nil {
			res.Status, res.Detail = Failed, err.Error()
			return res
		}
		res.Kills = append(res.Kills, KillResult{Kill: k, Killed: !passed, Failures: failures, Output: out})
		if passed {
			res.Status = Survived
			res.Detail += fmt.Sprintf("%s passes with the mutant in place\n", k)
		}
	}
	res.Detail = strings.TrimSpace(res.Detail)
	return res
}

// runAll runs the mutants on jobs workers and returns their results in list
// order, reporting each as it finishes.
func (r *runner) runAll(ctx context.Context, mutants []Mutant, jobs int) []Result {
	results := make([]Result, len(mutants))
	next := make(chan int)
	var wg sync.WaitGroup
	var logMu sync.Mutex
	for range max(jobs, 1) {
		wg.Go(func() {
			for i := range next {
				results[i] = r.run(ctx, mutants[i])
				logMu.Lock()
				fmt.Fprintf(r.log, "%-9s %s (%s)\n", results[i].Status, mutants[i].ID, results[i].Took.Round(time.Second))
				logMu.Unlock()
			}
		})
	}
	for i := range mutants {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}
