package schema

import "github.com/stewardhq/steward/schema/didyoumean"

// Suggest returns the candidate closest to word when it is close enough to be
// a likely typo, or "" when none is (see didyoumean.Suggest).
func Suggest(word string, candidates []string) string {
	return didyoumean.Suggest(word, candidates)
}

func didYouMean(word string, candidates []string) string {
	if s := Suggest(word, candidates); s != "" {
		return `did you mean "` + s + `"?`
	}
	return ""
}
