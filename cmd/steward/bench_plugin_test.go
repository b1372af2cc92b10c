package main

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkRunOnePluginCall: `steward run` of a runbook whose one step
// calls a plugin action (the example plugin's lookup_transaction), the
// whole process: the plugin's launch (checked against its pin, started,
// handshaken), the call and the journal. Compare with BenchmarkGoHello of
// the same run.
func BenchmarkRunOnePluginCall(b *testing.B) {
	home := b.TempDir()
	installPlugin(b, home, "example")
	if out, err := exec.Command(steward, "--home", home, "plugins", "lock").CombinedOutput(); err != nil {
		b.Fatalf("%v\n%s", err, out)
	}
	dir := b.TempDir()
	file := filepath.Join(dir, "one-call.yaml")
	writeFile(b, file, `version: 1
name: one-call
steps:
  - id: lookup
    action: example.lookup_transaction
    with:
      chain: ethereum
      tx_hash: "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"
`)
	args := []string{"--home", home, "run", file, "--progress", "plain"}
	for b.Loop() {
		cmd := exec.Command(steward, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, out)
		}
	}
}
