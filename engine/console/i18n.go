package console

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"golang.org/x/text/language"
)

// Languages the console speaks, the first the default: every message is
// in messages/LANG.json, and a test checks that both catalogs have the
// same keys.
var Languages = []string{"en", "zh"}

//go:embed messages/*.json
var messageFiles embed.FS

// catalog is the messages of one language, by key.
type catalog map[string]string

// catalogs reads every language's messages.
func catalogs() (map[string]catalog, error) {
	out := map[string]catalog{}
	for _, lang := range Languages {
		b, err := messageFiles.ReadFile("messages/" + lang + ".json")
		if err != nil {
			return nil, err
		}
		var c catalog
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("console: messages/%s.json: %w", lang, err)
		}
		out[lang] = c
	}
	return out, nil
}

// keys lists a catalog's keys, sorted.
func (c catalog) keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// text is the message key in c, formatted with args; the key itself when
// the catalog lacks it (a test makes sure none does).
func (c catalog) text(key string, args ...any) string {
	m, ok := c[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

var matcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// language is the request's language: the lang cookie when it names one
// the console speaks, else the best match of Accept-Language.
func requestLanguage(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		for _, l := range Languages {
			if c.Value == l {
				return l
			}
		}
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Languages[0]
	}
	return Languages[i]
}
