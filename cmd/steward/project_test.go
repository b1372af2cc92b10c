package main

import (
	"slices"
	"testing"
)

// apache2SHA256 is the SHA-256 of the Apache License 2.0 as the Apache
// Software Foundation distributes it (LICENSE-2.0.txt).
const apache2SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

// TestProjectFiles: LICENSE is the full standard Apache-2.0 text;
// CHANGELOG.md follows Keep a Changelog (an Unreleased section first, its
// changes under the standard kinds); CONTRIBUTING.md says how to build,
// test, write a plugin and commit.
func TestProjectFiles(t *testing.T) {
	if got := fileSHA256(t, "../../LICENSE"); got != apache2SHA256 {
		t.Errorf("LICENSE is not the standard Apache License 2.0 text (sha256 %s)", got)
	}
	cl := parseMarkdown(t, "CHANGELOG.md")
	if h1 := cl.headings(1); !slices.Equal(h1, []string{"Changelog"}) {
		t.Errorf("CHANGELOG.md title: %q", h1)
	}
	if h2 := cl.headings(2); len(h2) == 0 || h2[0] != "[Unreleased]" {
		t.Errorf("CHANGELOG.md sections: %q, want [Unreleased] first", h2)
	}
	kinds := []string{"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
	h3 := cl.headings(3)
	if len(h3) == 0 {
		t.Error("CHANGELOG.md: no changes under Unreleased")
	}
	for _, h := range h3 {
		if !slices.Contains(kinds, h) {
			t.Errorf("CHANGELOG.md: %q is not a kind of change (%v)", h, kinds)
		}
	}
	co := parseMarkdown(t, "CONTRIBUTING.md")
	for _, want := range []string{"Build", "Test", "Write a plugin", "Commits"} {
		if !slices.Contains(co.headings(2), want) {
			t.Errorf("CONTRIBUTING.md has no section %q: %q", want, co.headings(2))
		}
	}
}
