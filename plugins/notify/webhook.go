package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/stewardhq/steward/plugins/sdk"
)

// WebhookInput is the with of notify.webhook. There is no per-call URL:
// the URL is a credential, and comes from the settings only.
type WebhookInput struct {
	Text   string            `json:"text" desc:"the message (Slack mrkdwn, Discord or Teams markdown)"`
	Title  string            `json:"title,omitempty" desc:"a heading above the text"`
	Fields map[string]string `json:"fields,omitempty" desc:"label: value pairs shown under the text, in label order"`
}

// WebhookOutput is what notify.webhook returns.
type WebhookOutput struct {
	Channel string `json:"channel" enum:"webhook"`
	Sandbox bool   `json:"sandbox" desc:"true: nothing was posted, the webhook settings have no url"`
	Style   string `json:"style" enum:"slack,discord,teams,json" desc:"the shape of the body"`
	Status  int    `json:"status" desc:"the HTTP status the webhook answered; 0 in the sandbox"`
	Preview string `json:"preview,omitempty" desc:"in the sandbox: the JSON body that would be posted"`
}

// webhookSender posts to one incoming webhook.
type webhookSender struct {
	url    string // the credential: never in a message
	host   string // what messages name instead
	client *http.Client
}

func newWebhookSender(s WebhookSettings) *webhookSender {
	u, _ := url.Parse(s.URL) // checked by the settings
	return &webhookSender{url: s.URL, host: u.Host, client: &http.Client{
		Timeout:   s.Timeout.Std(),
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		// A redirect would send the message (and maybe the URL's secret
		// path, in a Referer) elsewhere: it is an error instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// postWebhook is notify.webhook. It mutates and is not idempotent:
// incoming webhooks do not deduplicate.
func (n *notify) postWebhook(ctx context.Context, call *sdk.Call, in WebhookInput) (WebhookOutput, error) {
	if strings.TrimSpace(in.Text) == "" {
		return WebhookOutput{}, sdk.Error(sdk.CodeInvalidInput, "with.text is empty: say what happened")
	}
	if strings.ContainsAny(in.Title, "\r\n") {
		return WebhookOutput{}, sdk.Error(sdk.CodeInvalidInput, "with.title must be one line: it holds a line break")
	}
	style := n.settings.Webhook.Style
	body, err := n.webhookBody(style, call.RunID, in)
	if err != nil {
		return WebhookOutput{}, err
	}
	out := WebhookOutput{Channel: "webhook", Sandbox: n.webhook == nil, Style: style}
	if n.webhook == nil {
		out.Preview = n.secrets.string(string(body))
		call.Infof("sandbox: not posting the %s message: there is no webhook.url", style)
		return out, nil
	}
	call.Infof("posting a %s message to the webhook at %s", style, n.webhook.host)
	status, err := n.webhook.post(ctx, body)
	if err != nil {
		return WebhookOutput{}, n.secrets.error(err)
	}
	out.Status = status
	call.Infof("the webhook answered %d %s", status, http.StatusText(status))
	return out, nil
}

// post sends body and returns the answer's status when it is 2xx.
func (w *webhookSender) post(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("the webhook request could not be made: check webhook.url") // never quote the URL
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "steward-plugin-notify/"+version)
	resp, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("posting to the webhook at %s: %w", w.host, ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL
		}
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			return 0, sdk.Retryable(codeConnection, "the webhook at %s did not answer within %s (webhook.timeout): try again later, or raise webhook.timeout", w.host, w.client.Timeout)
		}
		return 0, sdk.Retryable(codeConnection, "could not reach the webhook at %s (%v): try again if it is down, or check webhook.url", w.host, err)
	}
	defer resp.Body.Close()
	snippet := readSnippet(resp.Body)
	status := fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if snippet != "" {
		status += ": " + snippet
	}
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return c, nil
	case c == http.StatusTooManyRequests:
		wait := ""
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			wait = " (Retry-After " + ra + ")"
		}
		return 0, sdk.Retryable(codeTemporary, "the webhook at %s is rate limited (%s)%s: try again later", w.host, status, wait)
	case c >= 500:
		return 0, sdk.Retryable(codeTemporary, "the webhook at %s failed (%s): try again later", w.host, status)
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		return 0, sdk.Error(codeAuthFailed, "the webhook at %s refused the message (%s): the URL may have been revoked; check plugins.settings.notify.webhook.url", w.host, status)
	case c == http.StatusNotFound || c == http.StatusGone:
		return 0, sdk.Error(codeRejected, "the webhook at %s is gone (%s): the URL may have been revoked or its channel removed; check plugins.settings.notify.webhook.url", w.host, status)
	case c >= 300 && c < 400:
		return 0, sdk.Error(codeRejected, "the webhook at %s answered with a redirect (%s), which the plugin does not follow: check plugins.settings.notify.webhook.url", w.host, status)
	}
	return 0, sdk.Error(codeRejected, "the webhook at %s refused the message (%s): check webhook.style against the service the URL belongs to", w.host, status)
}

// readSnippet reads the start of an answer, as one short line.
func readSnippet(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	return truncate(strings.Join(strings.Fields(string(b)), " "), 200)
}

// truncate cuts s to at most n characters, ending it with … when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// webhookBody renders the JSON body of style.
func (n *notify) webhookBody(style, runID string, in WebhookInput) ([]byte, error) {
	labels := slices.Sorted(maps.Keys(in.Fields))
	link := n.runLink(runID)
	var v any
	switch style {
	case styleJSON:
		v = in
	case styleDiscord:
		v = discordBody(in, labels, runID, link)
	case styleTeams:
		v = teamsBody(in, labels, runID, link)
	default:
		v = slackBody(in, labels, runID, link)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the text as written: <, > and & need no \u escapes in JSON
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("rendering the %s message: %v", style, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// slackEscape escapes what Slack's mrkdwn reads as markup (links,
// mentions such as <!channel>), as Slack asks.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackBody is a Slack message: text (the notification's) and blocks,
// within Slack's limits (a header of 150 characters, a section of 3000,
// ten fields of 2000 per section).
func slackBody(in WebhookInput, labels []string, runID, link string) map[string]any {
	text := slackEscape(in.Text)
	fallback := text
	var blocks []any
	if in.Title != "" {
		fallback = slackEscape(in.Title) + "\n" + text
		blocks = append(blocks, map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncate(in.Title, 150)}})
	}
	blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": truncate(text, 3000)}})
	for chunk := range slices.Chunk(labels, 10) {
		var fields []any
		for _, l := range chunk {
			fields = append(fields, map[string]any{"type": "mrkdwn", "text": truncate("*"+slackEscape(l)+"*\n"+slackEscape(in.Fields[l]), 2000)})
		}
		blocks = append(blocks, map[string]any{"type": "section", "fields": fields})
	}
	if runID != "" {
		note := "Steward run `" + runID + "` · `steward show " + runID + "`"
		if link != "" {
			note = "Steward run <" + link + "|" + runID + ">"
		}
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": note}}})
	}
	return map[string]any{"text": truncate(fallback, 40000), "blocks": blocks}
}

// discordBody is a Discord message: content of at most 2000 characters,
// and no mentions parsed, so that a text holding @everyone pings nobody.
func discordBody(in WebhookInput, labels []string, runID, link string) map[string]any {
	var head, tail strings.Builder
	if in.Title != "" {
		head.WriteString("**" + in.Title + "**\n")
	}
	for _, l := range labels {
		tail.WriteString("\n**" + l + ":** " + in.Fields[l])
	}
	if runID != "" {
		if link != "" {
			tail.WriteString("\nSteward run " + runID + ": <" + link + ">")
		} else {
			tail.WriteString("\nSteward run " + runID + ": `steward show " + runID + "`")
		}
	}
	room := 2000 - utf8.RuneCountInString(head.String()) - utf8.RuneCountInString(tail.String())
	content := head.String() + truncate(in.Text, max(room, 1)) + tail.String()
	return map[string]any{"content": truncate(content, 2000), "allowed_mentions": map[string]any{"parse": []any{}}}
}

// teamsBody is an Office 365 connector MessageCard, what Teams incoming
// webhooks take.
func teamsBody(in WebhookInput, labels []string, runID, link string) map[string]any {
	summary := in.Title
	if summary == "" {
		summary = truncate(strings.Join(strings.Fields(in.Text), " "), 80)
	}
	card := map[string]any{
		"@type":    "MessageCard",
		"@context": "https://schema.org/extensions",
		"summary":  summary,
		"text":     in.Text,
	}
	if in.Title != "" {
		card["title"] = in.Title
	}
	var sections []any
	if len(labels) > 0 {
		var facts []any
		for _, l := range labels {
			facts = append(facts, map[string]any{"name": l, "value": in.Fields[l]})
		}
		sections = append(sections, map[string]any{"facts": facts})
	}
	if runID != "" {
		if link != "" {
			card["potentialAction"] = []any{map[string]any{"@type": "OpenUri", "name": "Open the run record",
				"targets": []any{map[string]any{"os": "default", "uri": link}}}}
			sections = append(sections, map[string]any{"text": "Steward run [" + runID + "](" + link + ")"})
		} else {
			sections = append(sections, map[string]any{"text": "Steward run " + runID + ": `steward show " + runID + "`"})
		}
	}
	if sections != nil {
		card["sections"] = sections
	}
	return card
}
