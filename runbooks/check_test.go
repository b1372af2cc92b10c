package runbooks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/schema/schematest"
)

func TestIsRunbookFile(t *testing.T) {
	for name, want := range map[string]bool{
		"a.yaml": true, "a.yml": true, "a.test.yaml": false, "a.test.yml": false,
		"a.json": false, "test.yaml": true, "a.yaml.bak": false,
	} {
		if got := IsRunbookFile(name); got != want {
			t.Errorf("IsRunbookFile(%q) = %v", name, got)
		}
	}
}

func TestCheckFilesUnreadable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "locked.yaml")
	if err := os.WriteFile(file, []byte("version: 1\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// root reads any file; use a folder in its place instead.
		os.Remove(file)
		os.Mkdir(file, 0o755)
	}
	res := CheckFiles([]string{file}, nil)
	if len(res) != 1 || len(res[0].Diags) != 1 || res[0].Diags[0].Line != 1 {
		t.Fatalf("got %+v", res)
	}
}

func writeCorpus(tb testing.TB, n int) string {
	dir := tb.TempDir()
	for i := range n {
		name := fmt.Sprintf("generated-%04d", i)
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(schematest.Runbook(name, 20)), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestCheckFilesCorpus(t *testing.T) {
	files, err := Find([]string{writeCorpus(t, 50)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range CheckFiles(files, nil) {
		if len(r.Diags) > 0 {
			t.Fatalf("%s:\n%s", r.File, r.Diags.Render())
		}
	}
}

// BenchmarkCheckFiles1000 validates 1,000 generated 20-step runbooks in
// process, on all cores.
func BenchmarkCheckFiles1000(b *testing.B) {
	files, err := Find([]string{writeCorpus(b, 1000)})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for _, r := range CheckFiles(files, nil) {
			if len(r.Diags) > 0 {
				b.Fatal(r.Diags)
			}
		}
	}
}

// TestResolveNameRefusesPaths: ResolveName, what core.runbook resolves
// with, takes runbook names only: a path, even of a runbook that exists, is
// refused without reading it; Resolve (steward run) still takes paths.
func TestResolveNameRefusesPaths(t *testing.T) {
	dir := t.TempDir()
	src := "version: 1\nname: present\nsteps:\n  - id: a\n    action: core.log\n    with: {message: hi}\n"
	file := filepath.Join(dir, "present.yaml")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{file, "present.yaml", "./present", "../" + filepath.Base(dir) + "/present", "/etc/passwd", "Present", ""} {
		_, err := ResolveName(ref, []string{dir})
		var nn *NotANameError
		if !errors.As(err, &nn) || !errors.Is(err, ErrNotAName) {
			t.Errorf("ResolveName(%q) = %v, want a NotANameError", ref, err)
		}
	}
	if doc, err := ResolveName("present", []string{dir}); err != nil || doc.File != file {
		t.Errorf("ResolveName by name: %v, %v", doc, err)
	}
	if doc, err := ResolveName("decline-reply", []string{dir}); err != nil || doc.File != BundledPrefix+"decline-reply.yaml" {
		t.Errorf("ResolveName of a bundled runbook: %v, %v", doc, err)
	}
	if doc, err := Resolve(file, nil); err != nil || doc.File != file {
		t.Errorf("Resolve of a path: %v, %v", doc, err)
	}
}
