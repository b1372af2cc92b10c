// Package problem writes HTTP errors as RFC 9457 problem details
// (application/problem+json), the form every error of steward serve takes.
package problem

import (
	"encoding/json"
	"net/http"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// Problem is an RFC 9457 problem details document.
type Problem struct {
	// Type is a URI naming the kind of problem: Type(SLUG), with the
	// slugs of docs/api.md; "about:blank" when the status says it all.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Instance names this occurrence: the request's path.
	Instance string `json:"instance,omitempty"`
	// Errors are the problems of an invalid runbook or of invalid
	// inputs, with the field paths and hints the CLI prints.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one problem of a request's runbook or inputs: Path is the
// field (inputs.NAME, or a runbook's FIELD.PATH), Line and Column its
// place in the runbook's file when it is the runbook's.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

// Type is the type URI of the problem named slug.
func Type(slug string) string { return "urn:steward:problem:" + slug }

// Write answers with p; its Title defaults to the status text, its Type
// to about:blank.
func Write(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// Error answers status with the problem named slug (docs/api.md) and
// detail, for the request r.
func Error(w http.ResponseWriter, r *http.Request, status int, slug, detail string) {
	Write(w, Problem{Type: Type(slug), Status: status, Detail: detail, Instance: r.URL.Path})
}
