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
// when not nil), and checks that runbook
// names are unique among them (SPEC: unique within a source). Results are
// in the order of files.
func CheckFiles(files []string, cat schema.Catalog) []Result {
	results := make([]Result, len(files))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(files)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = checkFile(files[i], cat)
			}
		}()
	}
	for i := range files {
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

func checkFile(file string, cat schema.Catalog) Result {
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
	rb, diags := schema.Check(file, src, cat)
	return Result{File: file, Name: rb.Name, NamePos: rb.NamePos, Diags: diags, nameLine: rb.SourceLine(rb.NamePos.Line)}
}

func fileDiag(file, msg string) schema.Diagnostics {
	return schema.Diagnostics{{File: file, Line: 1, Column: 1, Message: msg}}
}
