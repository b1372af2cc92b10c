package protocol

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The names the host and the SDK accepted when they checked them with
// these regular expressions; the hand-written checks accept the same.
var (
	pluginNameRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	actionNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
)

func TestNamesAreCheckedAsBefore(t *testing.T) {
	names := []string{"", "a", "A", "1a", "_a", "-a", "payments", "access-ldap", "lookup_tx", "a-b_c9", "a.b", "a b", "é",
		"a" + strings.Repeat("b", 62), "a" + strings.Repeat("b", 63), "ab\n", "a\x00"}
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "az09_-A.é "
	for range 20000 {
		b := make([]byte, r.IntN(70))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		names = append(names, string(b))
	}
	for _, n := range names {
		if got, want := ValidPluginName(n), pluginNameRe.MatchString(n); got != want {
			t.Errorf("ValidPluginName(%q) = %v, want %v", n, got, want)
		}
		if got, want := ValidActionName(n), actionNameRe.MatchString(n); got != want {
			t.Errorf("ValidActionName(%q) = %v, want %v", n, got, want)
		}
	}
}
