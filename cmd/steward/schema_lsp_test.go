package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/textproto"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lspClient drives a language server over stdio: JSON-RPC 2.0 messages
// framed by Content-Length headers (the Language Server Protocol's base
// protocol). It answers the server's requests (workspace/configuration
// with settings) and keeps the diagnostics it publishes, by URI.
type lspClient struct {
	t        *testing.T
	in       io.WriteCloser
	mu       sync.Mutex
	next     int
	waiting  map[int]chan json.RawMessage
	diags    map[string][]lspDiagnostic
	changed  chan string
	settings map[string]any
}

type lspDiagnostic struct {
	Range struct {
		Start struct{ Line, Character int }
	}
	Message string
	Source  string
}

func startLSP(t *testing.T, node, server string, settings map[string]any) *lspClient {
	t.Helper()
	cmd := exec.Command(node, server, "--stdio")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &lspClient{t: t, in: in, waiting: map[int]chan json.RawMessage{}, diags: map[string][]lspDiagnostic{},
		changed: make(chan string, 100), settings: settings}
	done := make(chan struct{})
	go c.read(bufio.NewReader(out), done)
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
		<-done
	})
	return c
}

func (c *lspClient) send(msg map[string]any) {
	msg["jsonrpc"] = "2.0"
	b, err := json.Marshal(msg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.in, "Content-Length: %d\r\n\r\n%s", len(b), b)
}

// call sends a request and waits for its result.
func (c *lspClient) call(method string, params any) json.RawMessage {
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan json.RawMessage, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	c.send(map[string]any{"id": id, "method": method, "params": params})
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		c.t.Fatalf("the language server did not answer %s", method)
		return nil
	}
}

func (c *lspClient) notify(method string, params any) {
	c.send(map[string]any{"method": method, "params": params})
}

func (c *lspClient) read(r *bufio.Reader, done chan struct{}) {
	defer close(done)
	tp := textproto.NewReader(r)
	for {
		h, err := tp.ReadMIMEHeader()
		if err != nil {
			return
		}
		n, err := strconv.Atoi(h.Get("Content-Length"))
		if err != nil {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		var msg struct {
			ID     *json.RawMessage
			Method string
			Params json.RawMessage
			Result json.RawMessage
		}
		if json.Unmarshal(body, &msg) != nil {
			continue
		}
		switch {
		case msg.Method != "" && msg.ID != nil: // a request of the server
			var result any
			if msg.Method == "workspace/configuration" {
				var p struct{ Items []struct{ Section string } }
				json.Unmarshal(msg.Params, &p)
				res := make([]any, len(p.Items))
				for i, it := range p.Items {
					res[i] = c.settings[it.Section]
				}
				result = res
			}
			c.send(map[string]any{"id": msg.ID, "result": result})
		case msg.Method == "textDocument/publishDiagnostics":
			var p struct {
				URI         string
				Diagnostics []lspDiagnostic
			}
			json.Unmarshal(msg.Params, &p)
			c.mu.Lock()
			c.diags[p.URI] = p.Diagnostics
			c.mu.Unlock()
			c.changed <- p.URI
		case msg.ID != nil:
			id, _ := strconv.Atoi(string(*msg.ID))
			c.mu.Lock()
			ch := c.waiting[id]
			delete(c.waiting, id)
			c.mu.Unlock()
			if ch != nil {
				ch <- msg.Result
			}
		}
	}
}

// diagnostics opens the document and returns what the server publishes
// for it once it has been quiet for a moment.
func (c *lspClient) diagnostics(uri, text string) []lspDiagnostic {
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "yaml", "version": 1, "text": text}})
	got := false
	deadline := time.After(30 * time.Second)
	for {
		select {
		case u := <-c.changed:
			got = got || u == uri
		case <-time.After(700 * time.Millisecond):
			if got {
				c.mu.Lock()
				defer c.mu.Unlock()
				return c.diags[uri]
			}
		case <-deadline:
			c.t.Fatalf("no diagnostics for %s", uri)
		}
	}
}

// TestSchemaYAMLLanguageServer: yaml-language-server, the checker of
// editors, reads the schema named by a runbook's modeline: it reports
// nothing for a bundled runbook, one error for a number where a duration
// goes (not "Matches a schema that is not allowed"), the unknown field of
// a built-in action's with, and completes the fields of that with.
func TestSchemaYAMLLanguageServer(t *testing.T) {
	node, tools := nodeTools(t)
	dir := t.TempDir()
	schema := schemaFile(t, t.TempDir())
	writeFile(t, filepath.Join(dir, "runbook.schema.json"), readString(t, schema))
	c := startLSP(t, node, filepath.Join(tools, "node_modules", "yaml-language-server", "bin", "yaml-language-server"),
		map[string]any{"yaml": map[string]any{"validate": true, "completion": true, "hover": true,
			"schemaStore": map[string]any{"enable": false}}})
	c.call("initialize", map[string]any{"processId": nil, "rootUri": "file://" + dir,
		"capabilities": map[string]any{"workspace": map[string]any{"configuration": true}}})
	c.notify("initialized", map[string]any{})
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": c.settings})

	const modeline = "# yaml-language-server: $schema=./runbook.schema.json\n"
	open := func(name, text string) []lspDiagnostic {
		path := filepath.Join(dir, name)
		writeFile(t, path, text)
		return c.diagnostics("file://"+path, text)
	}
	show := func(ds []lspDiagnostic) string {
		var b strings.Builder
		for _, d := range ds {
			fmt.Fprintf(&b, "  %d:%d %s\n", d.Range.Start.Line+1, d.Range.Start.Character+1, d.Message)
		}
		return b.String()
	}
	for _, f := range bundledRunbooks(t) {
		if ds := open(filepath.Base(f), modeline+readString(t, f)); len(ds) != 0 {
			t.Errorf("%s: yaml-language-server reports:\n%s", f, show(ds))
		}
	}
	ds := open("duration.yaml", modeline+schemaHead+"timeout: 30\nsteps:\n  - id: a\n    action: core.log\n    with: {message: hi}\n")
	if len(ds) != 1 || ds[0].Range.Start.Line != 3 || !strings.Contains(ds[0].Message, `Incorrect type. Expected "string"`) {
		t.Errorf("timeout: 30: want one error, not a string, on line 4:\n%s", show(ds))
	}
	for _, d := range ds {
		if strings.Contains(d.Message, "Matches a schema that is not allowed") {
			t.Errorf("timeout: 30: %s", d.Message)
		}
	}
	text := modeline + schemaHead + "steps:\n  - id: a\n    action: core.log\n    with:\n      mesage: hi\n"
	ds = open("with.yaml", text)
	if got, want := show(ds), "  7:5 Missing property \"message\".\n  8:7 Property mesage is not allowed.\n"; got != want {
		t.Errorf("an unknown field of core.log's with:\n%swant\n%s", got, want)
	}
	// Completion inside core.log's with offers its fields.
	res := c.call("textDocument/completion", map[string]any{
		"textDocument": map[string]any{"uri": "file://" + filepath.Join(dir, "with.yaml")},
		"position":     map[string]any{"line": 7, "character": 6}})
	var list struct{ Items []struct{ Label string } }
	if err := json.Unmarshal(res, &list); err != nil {
		t.Fatalf("completion: %v: %s", err, res)
	}
	var labels []string
	for _, it := range list.Items {
		labels = append(labels, it.Label)
	}
	if got := strings.Join(labels, " "); !strings.Contains(got, "message") || !strings.Contains(got, "level") {
		t.Errorf("completion in core.log's with offers %q, want message and level", got)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := readCapped(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
