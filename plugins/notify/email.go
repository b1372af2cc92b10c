package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stewardhq/steward/plugins/sdk"
)

// EmailInput is the with of notify.email.
type EmailInput struct {
	To      any    `json:"to" desc:"the recipients: an address, or a list of addresses (\"ana@example.org\" or \"Ana Lima <ana@example.org>\")"`
	Cc      any    `json:"cc,omitempty" desc:"copied recipients: an address or a list of addresses"`
	Subject string `json:"subject" desc:"the subject: one line"`
	Body    string `json:"body" desc:"the message, plain text; a line with the run record is added at the end"`
	ReplyTo string `json:"reply_to,omitempty" desc:"where replies go, when not to email.from"`
}

// EmailOutput is what notify.email returns.
type EmailOutput struct {
	Channel   string   `json:"channel" enum:"email"`
	Sandbox   bool     `json:"sandbox" desc:"true: nothing was sent, the email settings are empty"`
	MessageID string   `json:"message_id" desc:"the Message-ID header, <KEY@steward> from the step's idempotency key"`
	To        []string `json:"to" desc:"the recipients' addresses"`
	Subject   string   `json:"subject"`
	Preview   string   `json:"preview,omitempty" desc:"in the sandbox: the body as it would be sent"`
}

// Limits on an email, so that a runbook's mistake does not become a mass
// mailing or a message servers refuse.
const (
	maxRecipients = 50
	maxSubject    = 250     // characters
	maxBody       = 1 << 20 // bytes
)

// email is a message ready to go: checked, rendered, with its id.
type email struct {
	to, cc  []*mail.Address
	replyTo *mail.Address
	subject string
	text    string // the body with the run record line
	id      string // <...@steward>
	runID   string
}

// recipients lists the envelope's RCPT TO: to, then cc.
func (m *email) recipients() []string {
	var out []string
	for _, a := range append(append([]*mail.Address(nil), m.to...), m.cc...) {
		out = append(out, a.Address)
	}
	return out
}

// sendEmail is notify.email. It mutates and is not idempotent: a retry
// after a lost answer may send a second copy, with the same Message-ID.
func (n *notify) sendEmail(ctx context.Context, call *sdk.Call, in EmailInput) (EmailOutput, error) {
	m, err := n.composeEmail(call, in)
	if err != nil {
		return EmailOutput{}, err
	}
	out := EmailOutput{Channel: "email", Sandbox: n.email == nil, MessageID: m.id, Subject: m.subject}
	for _, a := range m.to {
		out.To = append(out.To, a.Address)
	}
	rcpts := strings.Join(m.recipients(), ", ")
	if n.email == nil {
		out.Preview = n.secrets.string(m.text)
		call.Infof("sandbox: not sending %q to %s: there are no email settings", m.subject, rcpts)
		return out, nil
	}
	call.Infof("sending %q to %s through %s", m.subject, rcpts, n.email.addr)
	if err := n.email.send(ctx, call, m, n.clock()); err != nil {
		return EmailOutput{}, n.secrets.error(err)
	}
	call.Infof("the SMTP server accepted %s", m.id)
	return out, nil
}

// composeEmail checks the input and renders the message.
func (n *notify) composeEmail(call *sdk.Call, in EmailInput) (*email, error) {
	m := &email{runID: call.RunID}
	var err error
	if m.to, err = addressList("to", in.To, true); err != nil {
		return nil, err
	}
	if m.cc, err = addressList("cc", in.Cc, false); err != nil {
		return nil, err
	}
	if k := len(m.to) + len(m.cc); k > maxRecipients {
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.to and with.cc name %d recipients, more than %d: send to a mailing list instead", k, maxRecipients)
	}
	if in.ReplyTo != "" {
		if m.replyTo, err = parseAddress(in.ReplyTo); err != nil {
			return nil, sdk.Error(sdk.CodeInvalidInput, "with.reply_to must be one address such as ana@example.org, got %q: %v", in.ReplyTo, err)
		}
	}
	m.subject = in.Subject
	switch {
	case strings.TrimSpace(in.Subject) == "":
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.subject is empty: give the email a subject")
	case strings.ContainsAny(in.Subject, "\r\n"):
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.subject must be one line: it holds a line break, which could add headers to the email")
	case utf8.RuneCountInString(in.Subject) > maxSubject:
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.subject is %d characters long, more than %d: put the details in the body", utf8.RuneCountInString(in.Subject), maxSubject)
	case !utf8.ValidString(in.Subject) || !utf8.ValidString(in.Body):
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.subject and with.body must be UTF-8 text")
	case strings.TrimSpace(in.Body) == "":
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.body is empty: say what happened")
	case len(in.Body) > maxBody:
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.body is %d bytes, more than %d: attach less, or link to the run record", len(in.Body), maxBody)
	}
	body := strings.TrimRight(strings.ReplaceAll(in.Body, "\r\n", "\n"), "\n")
	m.text = body + "\n\n-- \n" + n.runLine(call.RunID) + "\n"
	m.id = messageID(call.IdempotencyKey)
	return m, nil
}

// runLine is the last line of an email: where the run record is.
func (n *notify) runLine(runID string) string {
	if runID == "" {
		return "Sent by Steward."
	}
	if link := n.runLink(runID); link != "" {
		return "Sent by Steward from run " + runID + ": " + link
	}
	return "Sent by Steward from run " + runID + ": steward show " + runID
}

// addressList reads with.FIELD: one address or a list of addresses.
func addressList(field string, v any, required bool) ([]*mail.Address, error) {
	var items []string
	switch x := v.(type) {
	case nil:
	case string:
		items = []string{x}
	case []any:
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, sdk.Error(sdk.CodeInvalidInput, "with.%s[%d] must be an address (a string), got %v", field, i, e)
			}
			items = append(items, s)
		}
	default:
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.%s must be an address or a list of addresses, got %v", field, v)
	}
	if required && len(items) == 0 {
		return nil, sdk.Error(sdk.CodeInvalidInput, "with.%s names no recipient: give an address or a list of addresses", field)
	}
	out := make([]*mail.Address, 0, len(items))
	for i, s := range items {
		a, err := parseAddress(s)
		if err != nil {
			where := "with." + field
			if _, list := v.([]any); list {
				where = fmt.Sprintf("with.%s[%d]", field, i)
			}
			return nil, sdk.Error(sdk.CodeInvalidInput, "%s must be one address such as ana@example.org or \"Ana Lima <ana@example.org>\", got %q: %v", where, s, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// messageID makes the Message-ID <KEY@steward> from the idempotency key,
// with every character a Message-ID may not hold (and %) written %XX, so
// that two keys never give the same id. Without a key it is random.
func messageID(key string) string {
	if key == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return "<" + hex.EncodeToString(b[:]) + "@steward>"
	}
	var sb strings.Builder
	sb.WriteByte('<')
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&'*+-/=?^_`{|}~", c) >= 0 {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "%%%02X", c)
		}
	}
	sb.WriteString("@steward>")
	return sb.String()
}

// raw renders the message as it goes over the wire: headers, then the
// body in quoted-printable UTF-8, lines ending in CRLF.
func (m *email) raw(from *mail.Address, date time.Time) []byte {
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("From", from.String())
	header("To", joinAddresses(m.to))
	if len(m.cc) > 0 {
		header("Cc", joinAddresses(m.cc))
	}
	if m.replyTo != nil {
		header("Reply-To", m.replyTo.String())
	}
	header("Subject", encodeHeader(m.subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", m.id)
	header("Auto-Submitted", "auto-generated")
	if m.runID != "" {
		header("X-Steward-Run", encodeHeader(m.runID))
	}
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write([]byte(m.text))
	_ = w.Close()
	return b.Bytes()
}

func joinAddresses(as []*mail.Address) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// encodeHeader returns s as is when it is printable ASCII, else as RFC
// 2047 encoded words.
func encodeHeader(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}
