package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/journal"
)

// Verify checks the server's journal (GET /audit/verify), or one run's
// records with run set.
func (c *Client) Verify(ctx context.Context, run string) (*api.Verified, error) {
	q := url.Values{}
	if run != "" {
		q.Set("run", run)
	}
	var v api.Verified
	if err := c.call(ctx, "GET", "/audit/verify", q, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// ErrTruncated: an export ended before its export.end line.
var ErrTruncated = errors.New("client: the export ended before its export.end line: it is incomplete")

// Export copies the server's journal export (GET /audit/export: one
// run's records with run set, from a time with since) to w as it
// arrives, and returns how many records it held. An export that ends
// before its export.end line is ErrTruncated, after what arrived was
// written.
func (c *Client) Export(ctx context.Context, run string, since time.Time, w io.Writer) (int, error) {
	q := url.Values{}
	if run != "" {
		q.Set("run", run)
	}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339))
	}
	req, err := c.request(ctx, "GET", "/audit/export", q, nil)
	if err != nil {
		return 0, err
	}
	res, err := c.do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	r := bufio.NewReaderSize(res.Body, 64<<10)
	lines := 0
	var last []byte
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			if _, werr := w.Write(line); werr != nil {
				return lines, werr
			}
			if line[len(line)-1] == '\n' {
				lines++
				last = line
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return lines, &UnreachableError{URL: c.cfg.URL, Err: fmt.Errorf("the export broke: %w", err)}
		}
	}
	if last == nil || !bytes.Contains(last, []byte(`"type":"`+journal.TrailerType+`"`)) {
		return lines, ErrTruncated
	}
	return lines - 1, nil
}
