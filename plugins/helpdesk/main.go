// Command steward-plugin-helpdesk reads and answers support tickets, so
// that a runbook can triage a ticket from the helpdesk where it arrived:
//
//   - helpdesk.get_ticket reads a ticket: subject, description, status,
//     tags, named custom fields, its requester (name, locale, language)
//     and its last public comment, with a text to classify;
//   - helpdesk.classify classifies a ticket's text and fields with a
//     rules file, and extracts the payment id, transaction hash and chain;
//   - helpdesk.add_note adds an internal note, which the customer never
//     sees;
//   - helpdesk.reply posts a public reply, which the customer receives;
//   - helpdesk.update_ticket adds and removes tags and sets the status.
//
// The comment actions mutate and are idempotent by the step's idempotency
// key: Zendesk has no idempotency header, so each comment ends with a
// reference made from the key, and before posting the plugin looks for a
// comment of the ticket that carries it (see idempotency.go).
//
// Two backends: sandbox (the default: fixture tickets in English and
// Chinese, no network; it remembers what it was asked to post, per
// process) and zendesk (the Zendesk Ticketing API over net/http, with an
// API token). Every output carries backend. docs/plugins-helpdesk.md
// documents the settings, the actions, the fixtures and the error codes.
//
// Build it with `go build -o bin/steward-plugin-helpdesk ./plugins/helpdesk`.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

func main() { sdk.Serve(New()) }

// New returns the plugin; each call a fresh one, for tests.
func New() sdk.Plugin { return newHelpdesk().plugin() }

// helpdesk is the plugin: its settings and the backend they chose.
type helpdesk struct {
	settings Settings
	backend  backend
	rules    rulesCache // helpdesk.classify's last rules, compiled

	// Tests set these before the plugin is configured.
	transport http.RoundTripper // the zendesk backend's; http.DefaultTransport's clone when nil
	retryBase time.Duration     // the first pause between internal retries; default 500ms
}

func newHelpdesk() *helpdesk {
	return &helpdesk{settings: defaultSettings(), retryBase: 500 * time.Millisecond}
}

func (h *helpdesk) plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "helpdesk",
		Version:     version,
		Description: "Support tickets on Zendesk (or a sandbox): read a ticket, add an internal note, reply, tag and set its status.",
		Config:      &h.settings,
		Configure:   h.configure,
		Actions: []sdk.ActionDef{
			sdk.Action("get_ticket", h.getTicket,
				sdk.Describe("Reads a ticket with its requester and its last public comment, and a text to classify.")),
			sdk.Action("classify", h.classify,
				sdk.Describe("Classifies a ticket's text and fields with a rules file (keywords in English and Chinese, patterns, fields) and extracts payment ids, transaction hashes and the chain.")),
			sdk.Action("add_note", h.addNote,
				sdk.Describe("Adds an internal note to a ticket (never shown to the customer), once per step whatever the retries."),
				sdk.Mutates(), sdk.Idempotent()),
			sdk.Action("reply", h.reply,
				sdk.Describe("Posts a public reply to the customer on a ticket, once per step whatever the retries."),
				sdk.Mutates(), sdk.Idempotent()),
			sdk.Action("update_ticket", h.updateTicket,
				sdk.Describe("Adds and removes tags and sets the status of a ticket; the same request again changes nothing."),
				sdk.Mutates(), sdk.Idempotent()),
		},
	}
}

const version = "1.0.0"

// configure runs once the settings are decoded: it checks them and builds
// the backend they choose.
func (h *helpdesk) configure(context.Context) error {
	if err := h.settings.check(); err != nil {
		return err
	}
	switch h.settings.Backend {
	case backendZendesk:
		h.backend = newZendesk(h.settings.Zendesk, h.transport, h.retryBase)
	default:
		h.backend = newSandbox()
	}
	return nil
}
