package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoRegexpCompiledAtInit: no package of Steward linked into the
// steward binary compiles a regular expression at package
// initialisation (a package-level var set by regexp.MustCompile or
// regexp.Compile): every command, steward version included, would pay
// for it at start. They are compiled on first use (sync.OnceValue).
func TestNoRegexpCompiledAtInit(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}} {{.Dir}} {{join .GoFiles \",\"}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[0], "github.com/stewardhq/steward") {
			continue
		}
		for _, name := range strings.Split(f[2], ",") {
			path := filepath.Join(f[1], name)
			file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			for _, decl := range file.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.VAR {
					continue
				}
				for _, spec := range gd.Specs {
					for _, v := range spec.(*ast.ValueSpec).Values {
						if compilesAtInit(v) {
							t.Errorf("%s: a package-level var compiles a regexp at initialisation: compile it on first use (sync.OnceValue)", path)
						}
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatalf("no file of Steward among the dependencies:\n%s", out)
	}
}

// compilesAtInit says whether evaluating e calls regexp.MustCompile or
// regexp.Compile, outside a function literal (which runs later, if ever).
func compilesAtInit(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "regexp" && (sel.Sel.Name == "MustCompile" || sel.Sel.Name == "Compile") {
					found = true
				}
			}
		}
		return !found
	})
	return found
}
