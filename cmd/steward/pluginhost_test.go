package main

import (
	"bytes"
	"testing"

	"github.com/stewardhq/steward/engine/redact"
)

// TestPluginStderr: what a plugin writes on stderr outside calls is
// named, and masked with the run's secrets.
func TestPluginStderr(t *testing.T) {
	var buf bytes.Buffer
	set := &redact.Set{}
	set.Add("hunter2")
	print := pluginStderr(&buf, set)
	print("payments", "token hunter2 refused")
	print("chains", "node syncing")
	if want := "plugin payments: token *** refused\nplugin chains: node syncing\n"; buf.String() != want {
		t.Fatalf("got %q, want %q", buf.String(), want)
	}
}
