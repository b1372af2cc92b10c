package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCheck feeds arbitrary bytes to the loader and validator: they must
// never panic, and every diagnostic must point inside the file.
func FuzzCheck(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		if src, err := os.ReadFile(file); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("version: 1\nname: x-y\nsteps:\n  - id: a\n    action: core.log\n    with: {m: '${{ \"}}\" }}'}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		rb, diags := Check("fuzz.yaml", src, nil)
		lines := len(newSource("fuzz.yaml", src).lines)
		for _, d := range diags {
			if d.Line < 1 || d.Line > lines || d.Column < 1 {
				t.Fatalf("diagnostic outside the file (%d lines): %s", lines, d.Header())
			}
			_ = d.Render()
		}
		if len(diags) == 0 && (rb == nil || len(rb.Steps) == 0 || rb.Version != Version) {
			t.Fatalf("no diagnostics but no usable runbook")
		}
	})
}

// FuzzScanTemplate checks the template scanner: no panics, and the segments
// it returns are exact slices of the input, in order.
func FuzzScanTemplate(f *testing.F) {
	for _, s := range []string{"", "plain", "${{ a }}", "x ${{ a }} y ${{ b }}", `${{ "}}" }}`, "${{ {'a': {'b': 1}} }}", "${{", "${{ }}", "${{ 'x }}", "${{ a } }}", "$${{ a }}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		segs, err := ScanTemplate(s)
		if err != nil {
			se, ok := err.(*ScanError)
			if !ok || se.Offset < 0 || se.Offset > len(s) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		last := 0
		for _, sg := range segs {
			if sg.Offset < last || sg.Offset+len(sg.Text) > len(s) || s[sg.Offset:sg.Offset+len(sg.Text)] != sg.Text {
				t.Fatalf("segment %+v is not a slice of %q after offset %d", sg, s, last)
			}
			if sg.Expr && strings.TrimSpace(sg.Text) == "" {
				t.Fatalf("empty expression segment in %q", s)
			}
			last = sg.Offset + len(sg.Text)
		}
	})
}
