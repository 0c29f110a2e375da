// Command mutants checks that the tests guard the promises of README.md and
// docs/SECURITY.md. Each mutant in the list (scripts/mutants/mutants.yaml)
// removes one promised behaviour with small source edits, applied through
// `go test -overlay` so the working tree is never touched; the tests the list
// names for it must then each fail. A mutant that every named test lets
// through, that does not compile, or whose snippet no longer occurs exactly
// once in its file is an error.
//
//	go run ./scripts/mutants [-run REGEXP] [-j N] [-check]
//
// Before any mutant runs, every named test must pass on the unmutated code
// (otherwise its failure under a mutant would prove nothing). Test binaries
// are built without -race.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

func mainErr(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mutants", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listFile := fs.String("list", "scripts/mutants/mutants.yaml", "the mutant list")
	root := fs.String("C", ".", "the module root")
	only := fs.String("run", "", "run only the mutants whose id matches this regexp")
	jobs := fs.Int("j", 1, "mutants run at once (each builds test binaries and runs real listeners: on a small machine keep 1)")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound for one test binary run")
	check := fs.Bool("check", false, "only check that every snippet occurs exactly once (no build, no tests)")
	verbose := fs.Bool("v", false, "run the tests verbosely and print the output of every test run a mutant survived")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	f, err := os.Open(*listFile)
	if err != nil {
		fmt.Fprintln(stderr, "mutants:", err)
		return 2
	}
	list, err := loadList(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(stderr, "mutants:", err)
		return 2
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(stderr, "mutants: -run:", err)
			return 2
		}
		var sel []Mutant
		for _, m := range list {
			if re.MatchString(m.ID) {
				sel = append(sel, m)
			}
		}
		list = sel
	}
	if len(list) == 0 {
		fmt.Fprintln(stderr, "mutants: no mutant selected")
		return 2
	}

	// SIGTERM too, so that a stopped run still removes its work directory.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	work, err := os.MkdirTemp("", "mutants-")
	if err != nil {
		fmt.Fprintln(stderr, "mutants:", err)
		return 2
	}
	defer os.RemoveAll(work)
	r, err := newRunner(ctx, goCmd, *root, work, *timeout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "mutants:", err)
		return 2
	}
	r.verbose = *verbose
	if *check {
		return checkSnippets(r, list, stdout, stderr)
	}

	start := time.Now()
	if err := r.baseline(ctx, list); err != nil {
		fmt.Fprintln(stderr, "mutants:", err)
		return 2
	}
	results := r.runAll(ctx, list, *jobs)
	bad := report(stdout, results, *verbose)
	fmt.Fprintf(stdout, "%d mutants, %d not killed, %s in all\n", len(results), bad, time.Since(start).Round(time.Second))
	if bad > 0 || ctx.Err() != nil {
		return 1
	}
	return 0
}

// checkSnippets is the quick check: every edit applies.
func checkSnippets(r *runner, list []Mutant, stdout, stderr io.Writer) int {
	bad := 0
	for _, m := range list {
		if _, err := m.apply(r.root, r.goroot); err != nil {
			fmt.Fprintln(stderr, err)
			bad++
		}
	}
	fmt.Fprintf(stdout, "%d mutants, %d with a stale snippet\n", len(list), bad)
	if bad > 0 {
		return 1
	}
	return 0
}

// report prints one row per mutant and the details of every failure, and
// returns how many were not killed.
func report(w io.Writer, results []Result, verbose bool) int {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MUTANT\tRESULT\tKILLED BY\tTIME")
	bad := 0
	for _, res := range results {
		if res.Mutant.ID == "" {
			continue // not run (interrupted)
		}
		var by []string
		for _, k := range res.Kills {
			if k.Killed {
				by = append(by, k.Kill.String())
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", res.Mutant.ID, res.Status, strings.Join(by, ", "), res.Took.Round(time.Second))
		if res.Status != Killed {
			bad++
		}
	}
	tw.Flush()
	for _, res := range results {
		if res.Mutant.ID == "" || res.Status == Killed {
			continue
		}
		fmt.Fprintf(w, "\n%s %s (%s)\n%s\n", res.Status, res.Mutant.ID, res.Mutant.Promise, indent(res.Detail))
		if !verbose {
			continue
		}
		for _, k := range res.Kills {
			if !k.Killed {
				fmt.Fprintf(w, "  output of %s:\n%s\n", k.Kill, indent(indent(k.Output)))
			}
		}
	}
	return bad
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
