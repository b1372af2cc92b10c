package didyoumean

import "testing"

func TestSuggest(t *testing.T) {
	known := []string{"timeout", "retry", "approval", "with"}
	for word, want := range map[string]string{
		"timout":   "timeout",  // a deletion
		"retyr":    "retry",    // a transposition
		"Aproval":  "approval", // case does not count
		"wiht":     "with",
		"deadline": "", // nothing close
		"with":     "", // already right
		"":         "",
	} {
		if got := Suggest(word, known); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", word, got, want)
		}
	}
	if got := Suggest("x", nil); got != "" {
		t.Errorf("no candidates: %q", got)
	}
}
