package runbooks

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/stewardhq/steward/schema"
)

// Result is the outcome of checking one runbook file. It keeps the
// runbook's name, not the runbook, so that checking thousands of files
// holds little memory.
type Result struct {
	File    string
	Name    string // "" when the file has no valid name
	NamePos schema.Pos
	Diags   schema.Diagnostics

	nameLine string // the source line of the name, for a duplicate-name diagnostic
}

// CheckFiles loads and validates files in parallel (actions against cat,
// when not nil), warns of runbooks that call themselves
// (schema.SelfCalls), and checks that runbook
// names are unique among them (SPEC: unique within a source). Results are
// in the order of files.
//
// Each function of also adds its diagnostics of each runbook that loaded
// (approvers checked against steward.yaml, say).
func CheckFiles(files []string, cat schema.Catalog, also ...func(*schema.Runbook) schema.Diagnostics) []Result {
	return checkAll(len(files), func(i int) Result { return checkFile(files[i], cat, also) })
}

// CheckDocuments checks documents already read (a commit's runbooks) as
// CheckFiles checks files.
func CheckDocuments(docs []*Document, cat schema.Catalog, also ...func(*schema.Runbook) schema.Diagnostics) []Result {
	return checkAll(len(docs), func(i int) Result { return checkSrc(docs[i].File, docs[i].Src, cat, also) })
}

// checkAll runs check for 0..n-1 in parallel, then checks that names are
// unique.
func checkAll(n int, check func(i int) Result) []Result {
	results := make([]Result, n)
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = check(i)
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()

	first := map[string]Result{}
	for i, r := range results {
		if r.Name == "" {
			continue
		}
		if prev, dup := first[r.Name]; dup {
			results[i].Diags = append(results[i].Diags, schema.Diagnostic{
				File: r.File, Line: r.NamePos.Line, Column: r.NamePos.Column, Path: "name",
				Message: fmt.Sprintf("runbook name %q is already used by %s", r.Name, prev.File),
				Hint:    "runbook names must be unique within a folder or repository",
				Source:  r.nameLine,
			})
			continue
		}
		first[r.Name] = r
	}
	return results
}

func checkFile(file string, cat schema.Catalog, also []func(*schema.Runbook) schema.Diagnostics) Result {
	f, err := os.Open(file)
	if err != nil {
		return Result{File: file, Diags: fileDiag(file, err.Error())}
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > schema.MaxFileSize {
		return Result{File: file, Diags: fileDiag(file,
			fmt.Sprintf("file is %.1f MiB; a runbook may be at most 1 MiB", float64(info.Size())/(1<<20)))}
	}
	src, err := io.ReadAll(io.LimitReader(f, schema.MaxFileSize+1))
	if err != nil {
		return Result{File: file, Diags: fileDiag(file, err.Error())}
	}
	return checkSrc(file, src, cat, also)
}

func checkSrc(file string, src []byte, cat schema.Catalog, also []func(*schema.Runbook) schema.Diagnostics) Result {
	if len(src) > schema.MaxFileSize {
		return Result{File: file, Diags: fileDiag(file,
			fmt.Sprintf("file is %.1f MiB; a runbook may be at most 1 MiB", float64(len(src))/(1<<20)))}
	}
	rb, diags := schema.Check(file, src, cat)
	if self := schema.SelfCalls(rb); len(self) > 0 {
		diags = append(diags, self...)
		diags.Sort()
	}
	for _, f := range also {
		if more := f(rb); len(more) > 0 {
			diags = append(diags, more...)
			diags.Sort()
		}
	}
	return Result{File: file, Name: rb.Name, NamePos: rb.NamePos, Diags: diags, nameLine: rb.SourceLine(rb.NamePos.Line)}
}

func fileDiag(file, msg string) schema.Diagnostics {
	return schema.Diagnostics{{File: file, Line: 1, Column: 1, Message: msg}}
}
