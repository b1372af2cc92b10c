package runbooks

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// List gives, per name, the runbook Resolve reads: folders in order, then
// the bundled library, with the files of that name it hides.
func TestList(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write := func(dir, file, name string) {
		src := "version: 1\nname: " + name + "\ntitle: T " + file + "\nsteps:\n  - id: s\n    action: core.log\n"
		if err := os.WriteFile(filepath.Join(dir, file), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(a, "aa-other.yaml", "mine") // name: mine, read after mine.yaml
	write(a, "mine.yaml", "mine")     // NAME.yaml first
	write(a, "decline-reply.yaml", "decline-reply")
	write(b, "mine.yaml", "mine") // a later folder
	write(b, "only-b.yml", "only-b")
	if err := os.WriteFile(filepath.Join(b, "broken.yaml"), []byte("version: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	list, err := List([]string{a, filepath.Join(a, "missing"), b})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*Entry{}
	var names []string
	for _, e := range list {
		got[e.Name] = e
		names = append(names, e.Name)
	}
	for _, name := range Bundled() {
		if got[name] == nil {
			t.Errorf("bundled %s is not listed", name)
		}
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Fatalf("not sorted by name, once each: %v", names)
		}
	}
	check := func(name, file string, bundled bool, hides ...string) {
		t.Helper()
		e := got[name]
		if e == nil {
			t.Fatalf("%s is not listed", name)
		}
		if e.Doc.File != file || e.Bundled != bundled || !reflect.DeepEqual(e.Hides, hides) {
			t.Errorf("%s: file %s bundled %v hides %v; want %s %v %v", name, e.Doc.File, e.Bundled, e.Hides, file, bundled, hides)
		}
		if doc, err := Resolve(name, []string{a, b}); err != nil || doc.File != file {
			t.Errorf("Resolve(%s) reads %v, %v; List says %s", name, doc, err, file)
		}
	}
	check("mine", filepath.Join(a, "mine.yaml"), false, filepath.Join(a, "aa-other.yaml"), filepath.Join(b, "mine.yaml"))
	check("decline-reply", filepath.Join(a, "decline-reply.yaml"), false, "bundled/decline-reply.yaml")
	check("only-b", filepath.Join(b, "only-b.yml"), false)
	check("check-endpoint", "bundled/check-endpoint.yaml", true)
	if e := got["broken"]; e == nil || e.Problems == 0 {
		t.Errorf("a runbook that does not load is listed by its file name, with its problems: %+v", e)
	}
	if got["mine"].Runbook.Title != "T mine.yaml" {
		t.Errorf("title %q", got["mine"].Runbook.Title)
	}
}
