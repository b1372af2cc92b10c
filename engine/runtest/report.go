package runtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// ErrNoTests is returned when the paths hold no test file.
var ErrNoTests = errors.New("runtest: no test files (*.test.yaml) found")

// IsTestFile reports whether a file name is a runbook test file:
// *.test.yaml or *.test.yml.
func IsTestFile(name string) bool {
	return strings.HasSuffix(name, ".test.yaml") || strings.HasSuffix(name, ".test.yml")
}

// Find expands files and folders into test file paths. Folders are walked
// recursively for test files, skipping hidden folders such as .git. A file
// named explicitly is taken as a test file, unless it is a runbook
// (NAME.yaml), which stands for its test file beside it (NAME.test.yaml).
// The result is sorted and has no duplicates.
func Find(paths []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("runtest: %w", err)
		}
		if !info.IsDir() {
			if IsTestFile(root) || !runbooks.IsRunbookFile(root) {
				add(root)
				continue
			}
			t, err := testFileOf(root)
			if err != nil {
				return nil, err
			}
			add(t)
			continue
		}
		files, err := runbooks.Walk(root, IsTestFile)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			add(f)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoTests, strings.Join(paths, ", "))
	}
	return out, nil
}

// testFileOf returns the test file of a runbook file.
func testFileOf(runbook string) (string, error) {
	stem := strings.TrimSuffix(runbook, filepath.Ext(runbook))
	for _, ext := range []string{".test.yaml", ".test.yml"} {
		if _, err := os.Stat(stem + ext); err == nil {
			return stem + ext, nil
		}
	}
	return "", fmt.Errorf("runtest: %s has no test file: write %s.test.yaml", runbook, stem)
}

// Options say how RunFiles runs and reports.
type Options struct {
	// Registry holds the real actions: built-ins and installed plugins.
	// Runs use mocks in their place (core.* run for real unless mocked);
	// core.sleep waits on the virtual clock and core.runbook starts
	// sub-runs with the same mocks.
	Registry *actions.Registry
	// Run keeps the cases whose full name (RUNBOOK/CASE NAME) it matches;
	// nil keeps all.
	Run *regexp.Regexp
	// Verbose reports passing cases too, with === RUN and --- PASS lines.
	Verbose bool
	// Policy says who may approve, from steward.yaml (with Config set when
	// one was read), as for steward approve; each test file's groups add
	// to it.
	Policy journal.Policy
}

// Summary counts what RunFiles did.
type Summary struct {
	Passed, Failed int // cases
	Invalid        int // files that could not run: the test file or its runbook is invalid
}

// RunFiles runs the cases of each test file, in order, and reports in the
// style of go test: a --- FAIL line per failing case with its reasons,
// each at FILE:LINE, an ok or FAIL line per file, and last "N passed, M
// failed".
func RunFiles(ctx context.Context, w io.Writer, files []string, opts Options) Summary {
	var sum Summary
	for _, file := range files {
		s, diags := Load(file, opts.Registry)
		if s != nil {
			s.Policy = s.File.WithGroups(opts.Policy)
			if s.Policy.Config != "" || len(s.File.Groups) > 0 {
				// Groups are known: a group:NAME they lack is refused
				// before any case runs, as steward run refuses it.
				where := s.Policy.Config
				if where == "" {
					where = file + " (groups:)"
				}
				diags = schema.CheckApprovers(s.Runbook, s.Policy.Groups, where)
			}
		}
		if len(diags) > 0 {
			fmt.Fprint(w, diags.Render())
			fmt.Fprintf(w, "FAIL    %s [invalid]\n", file)
			sum.Invalid++
			continue
		}
		ran, failed := 0, 0
		for _, c := range s.File.Cases {
			name := s.Name(c)
			if opts.Run != nil && !opts.Run.MatchString(name) {
				continue
			}
			ran++
			if opts.Verbose {
				fmt.Fprintf(w, "=== RUN   %s\n", name)
			}
			r := s.Run(ctx, c)
			secs := r.Elapsed.Seconds()
			if r.Passed() {
				sum.Passed++
				if opts.Verbose {
					fmt.Fprintf(w, "--- PASS: %s (%.2fs)\n", name, secs)
				}
				continue
			}
			failed++
			sum.Failed++
			fmt.Fprintf(w, "--- FAIL: %s (%.2fs)\n", name, secs)
			for _, f := range r.Failures {
				msg := strings.ReplaceAll(f.Message, "\n", "\n        ")
				fmt.Fprintf(w, "    %s:%d: %s\n", file, f.Line, msg)
			}
		}
		switch {
		case failed > 0:
			fmt.Fprintf(w, "FAIL    %s\n", file)
		case ran == 0:
			fmt.Fprintf(w, "ok      %s  [no cases to run]\n", file)
		case ran == 1:
			fmt.Fprintf(w, "ok      %s  (1 case)\n", file)
		default:
			fmt.Fprintf(w, "ok      %s  (%d cases)\n", file, ran)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", sum.Passed, sum.Failed)
	return sum
}
