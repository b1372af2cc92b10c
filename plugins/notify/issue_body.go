package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of an issue body. GitHub refuses bodies over 65536 characters;
// logs and provider responses are cut well before, keeping their most
// useful end: the last lines of logs, the start of a response.
const (
	maxLogLines      = 200
	maxLogChars      = 16000
	maxResponseChars = 8000
	maxTextChars     = 10000 // summary, impact, reproduction commands
	maxSteps         = 50
)

// issue is a github_issue call's input, checked.
type issue struct {
	title, summary, severity, owner, impact string
	steps                                   []string // reproduction as numbered steps
	commands                                string   // reproduction as a code block of commands
	logs, providerResponse                  string
	runID, runLink, key                     string
	dedupe                                  []string // dedupe_keys
}

// markerPrefix starts the hidden first line of every issue the plugin
// opens; the idempotency key follows.
const markerPrefix = "<!-- steward:idempotency-key="

// marker is the hidden line that ties an issue to the step that opened
// it. The key is escaped so that it cannot end the HTML comment.
func marker(key string) string { return markerPrefix + markerKey(key) + " -->" }

// markerKey writes %, <, >, white space, control characters and the
// second - of -- as %XX: the rest of the key as is.
func markerKey(key string) string {
	var sb strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '%' || c == '<' || c == '>' || c <= ' ' || c == 0x7f || (c == '-' && i > 0 && key[i-1] == '-') {
			fmt.Fprintf(&sb, "%%%02X", c)
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// hasMarker says whether an issue body starts with the marker of key.
func hasMarker(body, key string) bool {
	m := marker(key)
	return body == m || strings.HasPrefix(body, m+"\n") || strings.HasPrefix(body, m+"\r\n")
}

// render writes the issue's markdown body: the marker, then Summary,
// Impact, Reproduction, Logs, Provider response and Run record, leaving
// out the sections with nothing to say.
func (is *issue) render() string {
	var b strings.Builder
	b.WriteString(marker(is.key) + "\n")
	for _, k := range is.dedupe {
		b.WriteString(dedupeMarker(k) + "\n")
	}
	b.WriteString("## Summary\n\n" + strings.TrimSpace(is.summary) + "\n")
	var facts []string
	if is.severity != "" {
		facts = append(facts, "**Severity:** "+is.severity)
	}
	if is.owner != "" {
		facts = append(facts, "**Owner:** "+is.owner)
	}
	if facts != nil {
		b.WriteString("\n" + strings.Join(facts, " · ") + "\n")
	}
	if s := strings.TrimSpace(is.impact); s != "" {
		b.WriteString("\n## Impact\n\n" + s + "\n")
	}
	switch {
	case len(is.steps) > 0:
		b.WriteString("\n## Reproduction\n\n")
		for i, s := range is.steps {
			fmt.Fprintf(&b, "%d. %s\n", i+1, strings.Join(strings.Fields(s), " "))
		}
	case strings.TrimSpace(is.commands) != "":
		b.WriteString("\n## Reproduction\n\n" + codeBlock("sh", strings.Trim(is.commands, "\n")))
	}
	if strings.TrimSpace(is.logs) != "" {
		b.WriteString("\n## Logs\n\n" + codeBlock("text", tailOf(is.logs)))
	}
	if strings.TrimSpace(is.providerResponse) != "" {
		lang, text := "text", strings.TrimSpace(is.providerResponse)
		var indented bytes.Buffer
		if json.Valid([]byte(text)) && json.Indent(&indented, []byte(text), "", "  ") == nil {
			lang, text = "json", indented.String()
		}
		b.WriteString("\n## Provider response\n\n" + codeBlock(lang, headOf(text, maxResponseChars)))
	}
	b.WriteString("\n## Run record\n\n")
	switch {
	case is.runLink != "":
		b.WriteString("Opened by Steward from run [" + is.runID + "](" + is.runLink + ").\n")
	case is.runID != "":
		b.WriteString("Opened by Steward from run `" + is.runID + "`: see it with `steward show " + is.runID + "`.\n")
	default:
		b.WriteString("Opened by Steward.\n")
	}
	return b.String()
}

// codeBlock fences text with more backticks than it holds in a row.
func codeBlock(lang, text string) string {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + lang + "\n" + strings.TrimRight(text, "\n") + "\n" + fence + "\n"
}

// tailOf keeps the last maxLogLines lines of logs, at most maxLogChars
// characters, saying how many lines were cut.
func tailOf(logs string) string {
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(logs, "\r\n", "\n"), "\n"), "\n")
	cut := 0
	if len(lines) > maxLogLines {
		cut = len(lines) - maxLogLines
		lines = lines[cut:]
	}
	for utf8.RuneCountInString(strings.Join(lines, "\n")) > maxLogChars && len(lines) > 1 {
		lines = lines[1:]
		cut++
	}
	out := strings.Join(lines, "\n")
	if utf8.RuneCountInString(out) > maxLogChars { // one huge line: keep its end
		r := []rune(out)
		out = string(r[len(r)-maxLogChars:])
	}
	if cut > 0 {
		out = fmt.Sprintf("[… %d earlier lines cut]\n", cut) + out
	}
	return out
}

// headOf keeps the first n characters of s, saying how much was cut.
func headOf(s string, n int) string {
	total := utf8.RuneCountInString(s)
	if total <= n {
		return s
	}
	return string([]rune(s)[:n]) + fmt.Sprintf("\n[… cut at %d of %d characters]\n", n, total)
}
