package execaction

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/stewardhq/steward/actions"
)

// tailLen is how many of the last bytes of a stream are kept apart from
// the capped output, to quote the last line of stderr in a message.
const tailLen = 4096

// capped keeps the first max bytes written to it and discards the rest,
// noting that it did. It never fails a write, so that the program does not
// see a broken pipe. Each stream has its own; exec.Cmd writes to it from
// one goroutine and Wait returns after the last write.
type capped struct {
	buf       []byte
	max       int
	truncated bool
	tail      []byte
	written   int64 // bytes written in all
}

func newCapped(max int) *capped { return &capped{max: max} }

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - len(c.buf); room > 0 {
		k := min(room, len(p))
		if len(c.buf)+k > cap(c.buf) {
			grown := make([]byte, len(c.buf), min(max(2*cap(c.buf), len(c.buf)+k, 512), c.max))
			copy(grown, c.buf)
			c.buf = grown
		}
		c.buf = append(c.buf, p[:k]...)
		if k < len(p) {
			c.truncated = true
		}
	} else if len(p) > 0 {
		c.truncated = true
	}
	c.written += int64(len(p))
	c.tail = append(c.tail, p[max(0, len(p)-tailLen):]...)
	if len(c.tail) > tailLen {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-tailLen:]...)
	}
	return len(p), nil
}

// String is what was kept. When the output was cut, the partial character
// at the cut is dropped, and so is the start of a secret there (see
// actions.Request.CutEnd): the rest of the secret was not kept, so that
// redacting the output would no longer find it.
func (c *capped) String(req *actions.Request) string {
	if !c.truncated {
		return string(c.buf)
	}
	return req.CutEnd(string(trimPartialRune(c.buf)))
}

func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// lastLine is the last non-empty line written, on valid UTF-8, with the
// request's secrets redacted, then clipped to clipLen characters (see
// actions.Request.Clip). A line whose start was not kept (longer than
// tailLen) starts with "…", so that the end of a secret cut there is
// masked too.
func (c *capped) lastLine(req *actions.Request) string {
	tail := c.tail
	cutStart := c.written > int64(len(tail))
	if cutStart {
		for len(tail) > 0 && !utf8.RuneStart(tail[0]) {
			tail = tail[1:]
		}
	}
	lines := bytes.Split(tail, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(strings.ToValidUTF8(string(lines[i]), "\uFFFD"))
		if line == "" {
			continue
		}
		if i == 0 && cutStart {
			line = "…" + line
		}
		return req.Clip(line, clipLen)
	}
	return ""
}
