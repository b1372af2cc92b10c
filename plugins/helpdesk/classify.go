package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/stewardhq/steward/plugins/sdk"
	"gopkg.in/yaml.v3"
)

// ClassifyInput is the with of helpdesk.classify.
type ClassifyInput struct {
	Text   string         `json:"text" desc:"what to classify: get_ticket's text"`
	Fields map[string]any `json:"fields,omitempty" desc:"the ticket's named custom fields: get_ticket's fields"`
	Rules  string         `json:"rules" desc:"the rules, YAML: the text of a rules file read with core.read_file (runbooks/files/triage-rules.yaml)"`
}

// ClassifyOutput is what helpdesk.classify returns.
type ClassifyOutput struct {
	Category  string          `json:"category" desc:"the category with the highest score (the first listed on a tie), or other when none reaches min_score"`
	Score     int             `json:"score"`
	Scores    map[string]int  `json:"scores" desc:"every category's score"`
	Matched   []string        `json:"matched" desc:"what counted for the category chosen: field NAME=VALUE, keyword WORD, pattern RE"`
	PaymentID string          `json:"payment_id" desc:"the first payment id in the text (extract.payment_id), or empty"`
	TxHash    string          `json:"tx_hash" desc:"the first transaction hash in the text (extract.tx_hash), or empty"`
	Chain     string          `json:"chain" desc:"the chain the text names (chains), or empty"`
	Flags     map[string]bool `json:"flags" desc:"each flag of the rules: whether one of its keywords is in the text"`
}

// rules is a rules file: see docs/plugins-helpdesk.md#helpdeskclassify.
type rules struct {
	Version    int                            `yaml:"version"`
	MinScore   int                            `yaml:"min_score"`
	Weights    weights                        `yaml:"weights"`
	Categories []category                     `yaml:"categories"`
	Extract    map[string]string              `yaml:"extract"`
	Chains     map[string][]string            `yaml:"chains"`
	Flags      map[string]map[string][]string `yaml:"flags"`
}

type weights struct {
	Field   int `yaml:"field"`
	Keyword int `yaml:"keyword"`
	Pattern int `yaml:"pattern"`
}

type category struct {
	Name     string              `yaml:"name"`
	Fields   map[string][]string `yaml:"fields"`
	Keywords map[string][]string `yaml:"keywords"` // by language: en, zh
	Patterns []string            `yaml:"patterns"`
}

var categoryName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// maxRules is the largest rules text accepted.
const maxRules = 256 << 10

// parseRules reads and checks a rules text; every problem at once.
func parseRules(text string) (*compiled, error) {
	if len(text) > maxRules {
		return nil, fmt.Errorf("the rules are %d bytes, more than %d", len(text), maxRules)
	}
	var r rules
	dec := yaml.NewDecoder(bytes.NewReader([]byte(text)))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("the rules are not a valid rules file: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var errs []error
	if r.Version != 1 {
		errs = append(errs, fmt.Errorf("version must be 1, got %d", r.Version))
	}
	if r.Weights == (weights{}) {
		r.Weights = weights{Field: 10, Keyword: 1, Pattern: 3}
	}
	if r.MinScore <= 0 {
		r.MinScore = 1
	}
	c := &compiled{rules: r, extract: map[string]*regexp.Regexp{}}
	seen := map[string]bool{}
	for i, cat := range r.Categories {
		where := fmt.Sprintf("categories[%d]", i)
		switch {
		case !categoryName.MatchString(cat.Name):
			errs = append(errs, fmt.Errorf("%s.name must be lower case letters, digits and _, got %q", where, cat.Name))
		case cat.Name == "other":
			errs = append(errs, fmt.Errorf("%s.name: other is what matches no category; it is not listed", where))
		case seen[cat.Name]:
			errs = append(errs, fmt.Errorf("%s.name: %s is listed twice", where, cat.Name))
		}
		seen[cat.Name] = true
		cc := compiledCategory{name: cat.Name, fields: cat.Fields}
		for _, lang := range slices.Sorted(maps.Keys(cat.Keywords)) {
			for _, w := range cat.Keywords[lang] {
				m, err := newMatcher(w)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s.keywords.%s: %v", where, lang, err))
					continue
				}
				cc.keywords = append(cc.keywords, m)
			}
		}
		for j, p := range cat.Patterns {
			re, err := regexp.Compile(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.patterns[%d]: %v", where, j, err))
				continue
			}
			cc.patterns = append(cc.patterns, re)
		}
		c.categories = append(c.categories, cc)
	}
	if len(r.Categories) == 0 {
		errs = append(errs, errors.New("categories: at least one is needed"))
	}
	for _, name := range slices.Sorted(maps.Keys(r.Extract)) {
		p := r.Extract[name]
		if name != "payment_id" && name != "tx_hash" {
			errs = append(errs, fmt.Errorf("extract.%s: only payment_id and tx_hash are extracted", name))
			continue
		}
		re, err := regexp.Compile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("extract.%s: %v", name, err))
			continue
		}
		c.extract[name] = re
	}
	for _, chain := range slices.Sorted(maps.Keys(r.Chains)) {
		words := r.Chains[chain]
		if !categoryName.MatchString(strings.ReplaceAll(chain, "-", "_")) {
			errs = append(errs, fmt.Errorf("chains: %q is not a chain name (lower case letters, digits and -)", chain))
		}
		for _, w := range words {
			m, err := newMatcher(w)
			if err != nil {
				errs = append(errs, fmt.Errorf("chains.%s: %v", chain, err))
				continue
			}
			c.chains = append(c.chains, chainWord{chain: chain, m: m})
		}
	}
	// The longest words first: "arbitrum one" before "one"; words of the
	// same length in the chains' order by name (read in that order above).
	sort.SliceStable(c.chains, func(i, j int) bool { return len(c.chains[i].m.word) > len(c.chains[j].m.word) })
	c.flags = map[string][]matcher{}
	for _, flag := range slices.Sorted(maps.Keys(r.Flags)) {
		byLang := r.Flags[flag]
		for _, lang := range slices.Sorted(maps.Keys(byLang)) {
			for _, w := range byLang[lang] {
				m, err := newMatcher(w)
				if err != nil {
					errs = append(errs, fmt.Errorf("flags.%s.%s: %v", flag, lang, err))
					continue
				}
				c.flags[flag] = append(c.flags[flag], m)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// matcher finds a keyword in a text, case-insensitively: a word of ASCII
// letters and digits as a whole word (card, not discard), any other
// (Chinese has no spaces between words) anywhere.
type matcher struct {
	word  string
	whole bool
}

func newMatcher(word string) (matcher, error) {
	w := strings.ToLower(strings.TrimSpace(word))
	if w == "" {
		return matcher{}, errors.New("an empty keyword")
	}
	whole := true
	for _, r := range w {
		if r >= utf8.RuneSelf {
			whole = false
		}
	}
	return matcher{word: w, whole: whole}, nil
}

// in says whether the keyword is in lower, the lower-cased text.
func (m matcher) in(lower string) bool {
	if !m.whole {
		return strings.Contains(lower, m.word)
	}
	for from := 0; ; {
		i := strings.Index(lower[from:], m.word)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(m.word)
		if (i == 0 || !wordByte(lower[i-1])) && (end == len(lower) || !wordByte(lower[end])) {
			return true
		}
		from = i + 1
	}
}

func wordByte(b byte) bool { return b == '_' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

type compiled struct {
	rules      rules
	categories []compiledCategory
	extract    map[string]*regexp.Regexp
	chains     []chainWord
	flags      map[string][]matcher
}

type compiledCategory struct {
	name     string
	fields   map[string][]string
	keywords []matcher
	patterns []*regexp.Regexp
}

type chainWord struct {
	chain string
	m     matcher
}

// classify scores each category on the text and the fields, and extracts
// the ids.
func (c *compiled) classify(text string, fields map[string]any) ClassifyOutput {
	lower := strings.ToLower(text)
	out := ClassifyOutput{Category: "other", Scores: map[string]int{}, Matched: []string{}, Flags: map[string]bool{}}
	w := c.rules.Weights
	for _, cat := range c.categories {
		score := 0
		var matched []string
		for name, values := range cat.fields {
			v, _ := fields[name].(string)
			for _, want := range values {
				if v != "" && strings.EqualFold(v, want) {
					score += w.Field
					matched = append(matched, "field "+name+"="+v)
				}
			}
		}
		for _, m := range cat.keywords {
			if m.in(lower) {
				score += w.Keyword
				matched = append(matched, "keyword "+m.word)
			}
		}
		for _, re := range cat.patterns {
			if re.MatchString(text) {
				score += w.Pattern
				matched = append(matched, "pattern "+re.String())
			}
		}
		sort.Strings(matched)
		out.Scores[cat.name] = score
		if score >= c.rules.MinScore && score > out.Score {
			out.Category, out.Score, out.Matched = cat.name, score, matched
		}
	}
	out.PaymentID = find(c.extract["payment_id"], text)
	out.TxHash = find(c.extract["tx_hash"], text)
	for _, cw := range c.chains {
		if cw.m.in(lower) {
			out.Chain = cw.chain
			break
		}
	}
	for flag, ms := range c.flags {
		out.Flags[flag] = false
		for _, m := range ms {
			if m.in(lower) {
				out.Flags[flag] = true
			}
		}
	}
	return out
}

// find is the first match of re in text: its first group when it has
// one (so that a pattern may require what comes before an id without
// returning it), "" for none or a nil re.
func find(re *regexp.Regexp, text string) string {
	if re == nil {
		return ""
	}
	m := re.FindStringSubmatch(text)
	switch {
	case m == nil:
		return ""
	case len(m) > 1:
		return m[1]
	}
	return m[0]
}

// classify is helpdesk.classify: read-only, and the same answer for the
// same input on every backend.
func (h *helpdesk) classify(_ context.Context, call *sdk.Call, in ClassifyInput) (ClassifyOutput, error) {
	c, err := h.rules.get(in.Rules)
	if err != nil {
		return ClassifyOutput{}, sdk.Error(sdk.CodeInvalidInput, "with.rules: %v", err)
	}
	out := c.classify(in.Text, in.Fields)
	call.Infof("classified as %s (score %d: %s)", out.Category, out.Score, orWord(strings.Join(out.Matched, ", "), "nothing matched"))
	return out, nil
}

// rulesCache keeps the last rules compiled: a process (a server's life)
// classifies ticket after ticket with the same file, and compiling its
// keywords costs far more than classifying.
type rulesCache struct {
	mu   sync.Mutex
	text string
	c    *compiled
}

func (rc *rulesCache) get(text string) (*compiled, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.c != nil && rc.text == text {
		return rc.c, nil
	}
	c, err := parseRules(text)
	if err != nil {
		return nil, err
	}
	rc.text, rc.c = text, c
	return c, nil
}
