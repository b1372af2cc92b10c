package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/schema/schematest"
)

// These benchmarks time the whole `steward validate` process, start-up
// included, as a user at a terminal or a CI job sees it.

func benchValidate(b *testing.B, args ...string) {
	b.Helper()
	for b.Loop() {
		out, err := exec.Command(steward, append([]string{"validate"}, args...)...).CombinedOutput()
		if err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}

// BenchmarkValidateOne20Steps: one 20-step runbook (target: under 20 ms).
func BenchmarkValidateOne20Steps(b *testing.B) {
	file := filepath.Join(b.TempDir(), "one.yaml")
	writeFile(b, file, schematest.Runbook("one", 20))
	benchValidate(b, file)
}

// BenchmarkValidateFolder1000: 1,000 runbooks of 20 steps (target: under 1 s).
func BenchmarkValidateFolder1000(b *testing.B) {
	dir := b.TempDir()
	for i := range 1000 {
		name := fmt.Sprintf("generated-%04d", i)
		writeFile(b, filepath.Join(dir, fmt.Sprintf("group-%02d", i/100), name+".yaml"), schematest.Runbook(name, 20))
	}
	benchValidate(b, dir)
}

// BenchmarkProcessFloor starts /bin/true: the cost of any process here.
func BenchmarkProcessFloor(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}
