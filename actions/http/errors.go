package httpaction

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/stewardhq/steward/actions"
)

// Error codes of http.request, besides the common ones of package actions.
const (
	CodeUnexpectedStatus actions.Code = "unexpected_status"
	CodeConnection       actions.Code = "connection"
	CodeTLS              actions.Code = "tls"
	CodeTooLarge         actions.Code = "response_too_large"
	CodeTooManyRedirects actions.Code = "too_many_redirects"
)

// snippetLen is the most characters of a response body an error shows.
const snippetLen = 200

// what names the request in messages: method and URL without secrets.
func (in *input) what() string { return in.method + " " + in.shown }

// statusError is the error for an answer whose status was not expected;
// head is the start of its body, cut when the body is longer.
func (in *input) statusError(req *actions.Request, status int, head []byte, cut bool) *actions.Error {
	text := strconv.Itoa(status)
	if st := http.StatusText(status); st != "" {
		text += " " + st
	}
	msg := fmt.Sprintf("%s answered %s, expected %s", in.what(), text, in.expectWords())
	if s := snippet(req, head, cut); s != "" {
		msg += ": " + s
	}
	return &actions.Error{
		Code:      CodeUnexpectedStatus,
		Message:   msg,
		Retryable: status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500,
	}
}

// expectWords is the expected status in words: 2xx, 204, 200 or 404.
func (in *input) expectWords() string {
	if in.expect == nil {
		return "2xx"
	}
	words := make([]string, len(in.expect))
	for i, s := range in.expect {
		words[i] = strconv.Itoa(s)
	}
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// snippet is the start of a body on one line, at most snippetLen runes,
// with the request's secrets redacted before it is cut (see
// actions.Request.Clip): as the body came, then on one line, so that a
// secret holding line breaks is found too. cut says the body went on
// after b: it ends with "…", so that the start of a secret cut there is
// masked.
func snippet(req *actions.Request, b []byte, cut bool) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if cut {
		s = strings.TrimSuffix(s, "\uFFFD") + "…"
	}
	if req != nil && req.Redact != nil {
		s = req.Redact.String(s)
	}
	return req.Clip(strings.Join(strings.Fields(s), " "), snippetLen)
}

func (in *input) tooLarge() *actions.Error {
	return actions.Errorf(CodeTooLarge, "%s: the response body is larger than max_bytes (%d bytes)", in.what(), in.maxBytes)
}

// fail turns a failed exchange into an *actions.Error. parent is the
// step's context, ctx the one bounded by the input's timeout; doing says
// what was under way, as a prefix for the message.
func (in *input) fail(parent, ctx context.Context, doing string, err error) *actions.Error {
	// url.Error repeats the whole URL, query included: keep only its cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	what := in.what()
	e := &actions.Error{Code: actions.CodeFailed, Err: err}
	switch {
	case errors.Is(err, errTooManyRedirects):
		e.Code = CodeTooManyRedirects
		e.Message = fmt.Sprintf("%s: stopped after %d redirects", what, maxRedirects)
	case errors.Is(parent.Err(), context.Canceled):
		e.Code, e.Err = actions.CodeCancelled, context.Canceled
		e.Message = fmt.Sprintf("%s: %scancelled", what, doing)
	case parent.Err() != nil:
		e.Code, e.Retryable, e.Err = actions.CodeTimeout, true, context.DeadlineExceeded
		e.Message = fmt.Sprintf("%s: %sthe step timed out", what, doing)
	case ctx.Err() != nil:
		e.Code, e.Retryable, e.Err = actions.CodeTimeout, true, context.DeadlineExceeded
		e.Message = fmt.Sprintf("%s: %sno complete answer within %s", what, doing, in.timeout)
	case isTimeout(err):
		e.Code, e.Retryable = actions.CodeTimeout, true
		e.Message = fmt.Sprintf("%s: %s%v", what, doing, err)
	case isTLS(err):
		e.Code = CodeTLS
		e.Message = fmt.Sprintf("%s: %sTLS: %v", what, doing, err)
	case isConnection(err):
		e.Code, e.Retryable = CodeConnection, true
		e.Message = fmt.Sprintf("%s: %sconnection failed: %v", what, doing, err)
	default:
		e.Message = fmt.Sprintf("%s: %s%v", what, doing, err)
	}
	return e
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func isTLS(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

func isConnection(err error) bool {
	var (
		op  *net.OpError
		dns *net.DNSError
	)
	return errors.As(err, &op) || errors.As(err, &dns) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
