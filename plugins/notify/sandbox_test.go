package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

const runID = "20261121-101502-3fa9c2d1"

// inRun is a first attempt of step id of the run runID, with the key the
// engine gives it.
func inRun(step string) []sdktest.CallOption {
	return []sdktest.CallOption{sdktest.Step(runID, step), sdktest.IdempotencyKey(runID + ":" + step)}
}

func TestSandboxEmail(t *testing.T) {
	p := start(t, nil) // no settings: every channel is a sandbox
	out, logs, err := p.Execute("email", map[string]any{
		"to": "ana@example.org", "cc": []any{"Ben Okafor <ben@example.org>"},
		"subject": "Your refund of 25.00 EUR", "body": "Hello Ana,\r\n\r\nWe refunded your payment.\n\n\n",
	}, inRun("notify")...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"channel": "email", "sandbox": true, "message_id": "<" + runID + "%3Anotify@steward>",
		"to": []any{"ana@example.org"}, "subject": "Your refund of 25.00 EUR",
		"preview": "Hello Ana,\n\nWe refunded your payment.\n\n-- \nSent by Steward from run " + runID + ": steward show " + runID + "\n"}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Errorf("outputs\n got %v\nwant %v", out, want)
	}
	if len(logs) != 1 || logs[0].Message != `sandbox: not sending "Your refund of 25.00 EUR" to ana@example.org, ben@example.org: there are no email settings` {
		t.Errorf("logs %v", logs)
	}

	// With run_url, the last line links to the run record; a list of
	// recipients.
	p = start(t, map[string]any{"run_url": "https://steward.example.org/runs/{run_id}"})
	out, _, err = p.Execute("email", map[string]any{"to": []any{"ana@example.org", "Ben <ben@example.org>"}, "subject": "s", "body": "b"}, inRun("notify")...)
	if err != nil || out["preview"] != "b\n\n-- \nSent by Steward from run "+runID+": https://steward.example.org/runs/"+runID+"\n" ||
		fmt.Sprint(out["to"]) != "[ana@example.org ben@example.org]" {
		t.Errorf("%v %v", out, err)
	}
	// The same step gives the same Message-ID, another step another.
	again, _, _ := p.Execute("email", map[string]any{"to": "ana@example.org", "subject": "s", "body": "b"}, append(inRun("notify"), sdktest.Attempt(2))...)
	other, _, _ := p.Execute("email", map[string]any{"to": "ana@example.org", "subject": "s", "body": "b"}, inRun("notify_each")...)
	if again["message_id"] != out["message_id"] || other["message_id"] != "<"+runID+"%3Anotify_each@steward>" {
		t.Errorf("message ids %v %v %v", out["message_id"], again["message_id"], other["message_id"])
	}
}

func TestEmailInput(t *testing.T) {
	p := start(t, nil)
	many := make([]any, 51)
	for i := range many {
		many[i] = fmt.Sprintf("user%d@example.org", i)
	}
	for _, c := range []struct {
		with map[string]any
		want string
	}{
		{map[string]any{"subject": "s", "body": "b"}, `with: missing required field "to"`},
		{map[string]any{"to": "ana", "subject": "s", "body": "b"},
			`with.to must be one address such as ana@example.org or "Ana Lima <ana@example.org>", got "ana": missing '@' or angle-addr`},
		{map[string]any{"to": "ana@example.org\r\nBcc: eve@example.org", "subject": "s", "body": "b"},
			`with.to must be one address such as ana@example.org or "Ana Lima <ana@example.org>", got "ana@example.org\r\nBcc: eve@example.org": it holds a line break`},
		{map[string]any{"to": []any{"ana@example.org", "ben@example.org, eve@example.org"}, "subject": "s", "body": "b"},
			`with.to[1] must be one address such as ana@example.org or "Ana Lima <ana@example.org>", got "ben@example.org, eve@example.org": expected single address, got ", eve@example.org"`},
		{map[string]any{"to": []any{"ana@example.org", 7}, "subject": "s", "body": "b"}, "with.to[1] must be an address (a string), got 7"},
		{map[string]any{"to": 7, "subject": "s", "body": "b"}, "with.to must be an address or a list of addresses, got 7"},
		{map[string]any{"to": []any{}, "subject": "s", "body": "b"}, "with.to names no recipient: give an address or a list of addresses"},
		{map[string]any{"to": nil, "subject": "s", "body": "b"}, "with.to names no recipient: give an address or a list of addresses"},
		{map[string]any{"to": many, "subject": "s", "body": "b"}, "with.to and with.cc name 51 recipients, more than 50: send to a mailing list instead"},
		{map[string]any{"to": "ana@example.org", "cc": "x", "subject": "s", "body": "b"},
			`with.cc must be one address such as ana@example.org or "Ana Lima <ana@example.org>", got "x": missing '@' or angle-addr`},
		{map[string]any{"to": "ana@example.org", "reply_to": "support", "subject": "s", "body": "b"},
			`with.reply_to must be one address such as ana@example.org, got "support": missing '@' or angle-addr`},
		{map[string]any{"to": "ana@example.org", "subject": "Refund\r\nBcc: eve@example.org", "body": "b"},
			"with.subject must be one line: it holds a line break, which could add headers to the email"},
		{map[string]any{"to": "ana@example.org", "subject": "Refund\nBcc: eve@example.org", "body": "b"},
			"with.subject must be one line: it holds a line break, which could add headers to the email"},
		{map[string]any{"to": "ana@example.org", "subject": " ", "body": "b"}, "with.subject is empty: give the email a subject"},
		{map[string]any{"to": "ana@example.org", "subject": strings.Repeat("é", 251), "body": "b"},
			"with.subject is 251 characters long, more than 250: put the details in the body"},
		{map[string]any{"to": "ana@example.org", "subject": "s", "body": "\n"}, "with.body is empty: say what happened"},
		{map[string]any{"to": "ana@example.org", "subject": "s", "body": "b", "bcc": "eve@example.org"}, `with: unknown field "bcc"`},
	} {
		_, _, err := p.Execute("email", c.with)
		sdktest.WantError(t, err, "invalid_input", false, c.want)
	}
	_, _, err := p.Execute("email", map[string]any{"to": "ana@example.org", "subject": "s", "body": "b"}, sdktest.DryRun())
	sdktest.WantError(t, err, "dry_run", false, "notify.email mutates: it does not run in a dry-run")
}

func TestSandboxWebhook(t *testing.T) {
	with := map[string]any{"text": "Refund <failed> & escalated", "title": "Card payment failure",
		"fields": map[string]any{"payment": "pi_123", "amount": "25.00 EUR"}}
	for _, c := range []struct {
		settings map[string]any
		want     string
	}{
		{nil, `{"blocks":[{"text":{"text":"Card payment failure","type":"plain_text"},"type":"header"},` +
			`{"text":{"text":"Refund &lt;failed&gt; &amp; escalated","type":"mrkdwn"},"type":"section"},` +
			`{"fields":[{"text":"*amount*\n25.00 EUR","type":"mrkdwn"},{"text":"*payment*\npi_123","type":"mrkdwn"}],"type":"section"},` +
			"{\"elements\":[{\"text\":\"Steward run `" + runID + "` · `steward show " + runID + "`\",\"type\":\"mrkdwn\"}],\"type\":\"context\"}]," +
			`"text":"Card payment failure\nRefund &lt;failed&gt; &amp; escalated"}`},
		{map[string]any{"webhook": map[string]any{"style": "slack"}, "run_url": "https://steward.example.org/runs/{run_id}"},
			`{"blocks":[{"text":{"text":"Card payment failure","type":"plain_text"},"type":"header"},` +
				`{"text":{"text":"Refund &lt;failed&gt; &amp; escalated","type":"mrkdwn"},"type":"section"},` +
				`{"fields":[{"text":"*amount*\n25.00 EUR","type":"mrkdwn"},{"text":"*payment*\npi_123","type":"mrkdwn"}],"type":"section"},` +
				`{"elements":[{"text":"Steward run <https://steward.example.org/runs/` + runID + `|` + runID + `>","type":"mrkdwn"}],"type":"context"}],` +
				`"text":"Card payment failure\nRefund &lt;failed&gt; &amp; escalated"}`},
		{map[string]any{"webhook": map[string]any{"style": "discord"}},
			`{"allowed_mentions":{"parse":[]},"content":"**Card payment failure**\nRefund <failed> & escalated\n**amount:** 25.00 EUR\n**payment:** pi_123\n` +
				"Steward run " + runID + ": `steward show " + runID + "`\"}"},
		{map[string]any{"webhook": map[string]any{"style": "teams"}, "run_url": "https://steward.example.org/runs/{run_id}"},
			`{"@context":"https://schema.org/extensions","@type":"MessageCard",` +
				`"potentialAction":[{"@type":"OpenUri","name":"Open the run record","targets":[{"os":"default","uri":"https://steward.example.org/runs/` + runID + `"}]}],` +
				`"sections":[{"facts":[{"name":"amount","value":"25.00 EUR"},{"name":"payment","value":"pi_123"}]},` +
				`{"text":"Steward run [` + runID + `](https://steward.example.org/runs/` + runID + `)"}],` +
				`"summary":"Card payment failure","text":"Refund <failed> & escalated","title":"Card payment failure"}`},
		{map[string]any{"webhook": map[string]any{"style": "json"}},
			`{"text":"Refund <failed> & escalated","title":"Card payment failure","fields":{"amount":"25.00 EUR","payment":"pi_123"}}`},
	} {
		p := start(t, c.settings)
		out, logs, err := p.Execute("webhook", with, inRun("notify")...)
		if err != nil {
			t.Fatal(err)
		}
		style := "slack"
		if w, ok := c.settings["webhook"].(map[string]any); ok {
			style = w["style"].(string)
		}
		if out["channel"] != "webhook" || out["sandbox"] != true || out["status"] != 0.0 || out["style"] != style {
			t.Errorf("%s: outputs %v", style, out)
		}
		if got := out["preview"]; got != c.want {
			t.Errorf("%s preview\n got %s\nwant %s", style, got, c.want)
		}
		if !json.Valid([]byte(fmt.Sprint(out["preview"]))) {
			t.Errorf("%s: the preview is not JSON", style)
		}
		if len(logs) != 1 || logs[0].Message != "sandbox: not posting the "+style+" message: there is no webhook.url" {
			t.Errorf("logs %v", logs)
		}
	}
	// Text alone: a section and the run line.
	p := start(t, nil)
	out, _, err := p.Execute("webhook", map[string]any{"text": "Refunded."}, sdktest.Step("", "s"))
	if err != nil || out["preview"] != `{"blocks":[{"text":{"text":"Refunded.","type":"mrkdwn"},"type":"section"}],"text":"Refunded."}` {
		t.Errorf("%v %v", out, err)
	}
	_, _, err = p.Execute("webhook", map[string]any{"text": " "})
	sdktest.WantError(t, err, "invalid_input", false, "with.text is empty: say what happened")
	_, _, err = p.Execute("webhook", map[string]any{"text": "t", "title": "a\nb"})
	sdktest.WantError(t, err, "invalid_input", false, "with.title must be one line: it holds a line break")
	_, _, err = p.Execute("webhook", map[string]any{"text": "t", "url_override": "https://evil.example.org/"})
	sdktest.WantError(t, err, "invalid_input", false, `with: unknown field "url_override"`)
}

func TestSandboxGitHubIssue(t *testing.T) {
	p := start(t, map[string]any{"run_url": "https://steward.example.org/runs/{run_id}"})
	out, logs, err := p.Execute("github_issue", map[string]any{
		"title":    "The polygon node is unhealthy: stale head",
		"summary":  "The polygon node's last block is 900s old.",
		"severity": "medium", "owner": "chain-infrastructure",
		"impact":            "Polygon transactions show as pending.",
		"reproduction":      []any{"steward run stuck-transaction --input chain=polygon", "steward show " + runID},
		"logs":              "line 1\nline 2\n",
		"provider_response": `{"jsonrpc":"2.0","result":"0x10"}`,
		"labels":            []any{"incident"},
	}, inRun("escalate")...)
	if err != nil {
		t.Fatal(err)
	}
	body := "<!-- steward:idempotency-key=" + runID + ":escalate -->\n" +
		"## Summary\n\nThe polygon node's last block is 900s old.\n\n**Severity:** medium · **Owner:** chain-infrastructure\n\n" +
		"## Impact\n\nPolygon transactions show as pending.\n\n" +
		"## Reproduction\n\n1. steward run stuck-transaction --input chain=polygon\n2. steward show " + runID + "\n\n" +
		"## Logs\n\n```text\nline 1\nline 2\n```\n\n" +
		"## Provider response\n\n```json\n{\n  \"jsonrpc\": \"2.0\",\n  \"result\": \"0x10\"\n}\n```\n\n" +
		"## Run record\n\nOpened by Steward from run [" + runID + "](https://steward.example.org/runs/" + runID + ").\n"
	want := map[string]any{"channel": "github_issue", "sandbox": true, "number": 0.0, "url": "", "created": false, "body": body}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Errorf("outputs\n got %q\nwant %q", out["body"], body)
	}
	if len(logs) != 1 || logs[0].Message != `sandbox: not opening the issue "The polygon node is unhealthy: stale head": there are no github settings` {
		t.Errorf("logs %v", logs)
	}

	// The least: a title and a summary; commands as a code block; the run
	// of the input rather than the caller's; no run_url.
	p = start(t, nil)
	out, _, err = p.Execute("github_issue", map[string]any{"title": "t", "summary": "s", "reproduction": "curl -s https://x\n```\n", "run_id": "20261120-000000-00000000"},
		inRun("escalate")...)
	want["body"] = "<!-- steward:idempotency-key=" + runID + ":escalate -->\n## Summary\n\ns\n\n" +
		"## Reproduction\n\n````sh\ncurl -s https://x\n```\n````\n\n" +
		"## Run record\n\nOpened by Steward from run `20261120-000000-00000000`: see it with `steward show 20261120-000000-00000000`.\n"
	if err != nil || fmt.Sprint(out) != fmt.Sprint(want) {
		t.Errorf("outputs\n got %q\nwant %q (%v)", out["body"], want["body"], err)
	}
}

func TestIssueInput(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct {
		with map[string]any
		want string
	}{
		{map[string]any{"summary": "s"}, `with: missing required field "title"`},
		{map[string]any{"title": "", "summary": "s"}, "with.title is empty: give the issue a title"},
		{map[string]any{"title": "a\nb", "summary": "s"}, "with.title must be one line: it holds a line break"},
		{map[string]any{"title": strings.Repeat("x", 257), "summary": "s"}, "with.title is 257 characters long, GitHub takes 256 at most: put the details in the summary"},
		{map[string]any{"title": "t", "summary": "\n"}, "with.summary is empty: say what happened"},
		{map[string]any{"title": "t", "summary": "s", "severity": "high\nlabels: x"}, "with.severity must be one line of at most 100 characters"},
		{map[string]any{"title": "t", "summary": "s", "reproduction": 3}, "with.reproduction must be a list of steps or a string of commands, got 3"},
		{map[string]any{"title": "t", "summary": "s", "reproduction": []any{"a", true}}, "with.reproduction[1] must be a string, got true"},
		{map[string]any{"title": "t", "summary": "s", "labels": []any{""}}, `with.labels[0] must be a label name of 1 to 50 characters, got ""`},
		{map[string]any{"title": "t", "summary": "s", "assignees": []any{"ana lima"}}, `with.assignees[0] must match ^[A-Za-z0-9][A-Za-z0-9-]{0,38}$, got "ana lima"`},
	} {
		_, _, err := p.Execute("github_issue", c.with)
		sdktest.WantError(t, err, "invalid_input", false, c.want)
	}
}

func TestIssueBodyLimits(t *testing.T) {
	var logs strings.Builder
	for i := 1; i <= 250; i++ {
		fmt.Fprintf(&logs, "log line %d\n", i)
	}
	got := tailOf(logs.String())
	if !strings.HasPrefix(got, "[… 50 earlier lines cut]\nlog line 51\n") || !strings.HasSuffix(got, "\nlog line 250") {
		t.Errorf("tail %q…", got[:80])
	}
	long := strings.Repeat("x", 100) + "\n" + strings.Repeat("y", maxLogChars+10)
	if got := tailOf(long); got != "[… 1 earlier lines cut]\n"+strings.Repeat("y", maxLogChars) {
		t.Errorf("a huge line: %d characters", len(got))
	}
	if got := headOf("abcdef", 3); got != "abc\n[… cut at 3 of 6 characters]\n" {
		t.Errorf("head %q", got)
	}
	for key, want := range map[string]string{
		"run-1:step":      "<!-- steward:idempotency-key=run-1:step -->",
		"a-->b <!-- 100%": "<!-- steward:idempotency-key=a-%2D%3Eb%20%3C!-%2D%20100%25 -->",
	} {
		if got := marker(key); got != want || !hasMarker(got+"\r\n## Summary", key) || hasMarker(got, key+"x") {
			t.Errorf("marker(%q) = %q, want %q", key, got, want)
		}
	}
	for key, want := range map[string]string{
		"run-1/step": "<run-1/step@steward>", runID + ":notify:3": "<" + runID + "%3Anotify%3A3@steward>",
		"a.b c%": "<a%2Eb%20c%25@steward>",
	} {
		if got := messageID(key); got != want {
			t.Errorf("messageID(%q) = %q, want %q", key, got, want)
		}
	}
	if a, b := messageID(""), messageID(""); a == b || !strings.HasSuffix(a, "@steward>") {
		t.Errorf("random ids %s %s", a, b)
	}
}
