package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/engine/journal/postgres/pgtest"
)

// BenchmarkReplicasStartOneStep: b.N runs of a 1-step core runbook
// started over the API of real steward serve processes by 4 or 32
// clients
// (round robin over the replicas) as fast as they go; reports runs/s
// (from the first request to the last run's end) and the p50/p99 of
// request to 202. With the embedded SQLite store (one server), and with
// PostgreSQL, one and three replicas.
//
//	go test -run X -bench ReplicasStart -benchtime 3000x ./cmd/steward/
func BenchmarkReplicasStartOneStep(b *testing.B) {
	for _, clients := range []int{4, 32} {
		b.Run(fmt.Sprintf("sqlite-1/clients-%d", clients), func(b *testing.B) { benchReplicas(b, 1, false, clients) })
		b.Run(fmt.Sprintf("postgres-1/clients-%d", clients), func(b *testing.B) { benchReplicas(b, 1, true, clients) })
		b.Run(fmt.Sprintf("postgres-3/clients-%d", clients), func(b *testing.B) { benchReplicas(b, 3, true, clients) })
	}
}

func benchReplicas(b *testing.B, n int, pg bool, clients int) {
	dir, home := b.TempDir(), b.TempDir()
	var env []string
	if pg {
		env = []string{"STEWARD_DATABASE_URL=" + pgtest.URL(b)}
	}
	writeFile(b, filepath.Join(dir, "steward.yaml"), "runbooks: [runbooks]\n")
	writeFile(b, filepath.Join(dir, "runbooks", "one.yaml"), "version: 1\nname: one\nsteps:\n  - {id: s1, action: core.set, with: {n: 1}}\n")
	mk := exec.Command(steward, "--home", home, "tokens", "create", "bench", "--role", "operator")
	mk.Dir, mk.Env = dir, append(os.Environ(), env...)
	out, err := mk.Output()
	if err != nil {
		b.Fatalf("tokens create: %v", err)
	}
	token := strings.TrimSpace(string(out))
	var bases []string
	for range n {
		h := home // the SQLite store lives under --home: one server
		if pg {
			h = b.TempDir()
		}
		bases = append(bases, "http://"+startReplica(b, dir, h, env).addr)
	}
	load := newAPILoad(token, bases, "one")
	load.warmUp(b, 20*n)
	load.drive(b, clients, 0)
}
