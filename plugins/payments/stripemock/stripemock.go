// Package stripemock runs a real stripe-mock (github.com/stripe/stripe-mock)
// for tests: it validates every request against Stripe's OpenAPI spec
// (paths, parameters, their types and enums) and answers with the spec's
// fixtures, so a test against it proves that requests are ones Stripe
// accepts and that Stripe's shapes are decoded. Its answers are fixtures,
// not behaviour: it keeps no state and answers any id.
//
//	base := stripemock.Start(t) // http://127.0.0.1:PORT, stopped when t ends
package stripemock

import (
	"bytes"
	"net/http"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/peertest"
)

// Install is the command that installs stripe-mock.
const Install = "go install github.com/stripe/stripe-mock@latest"

// Lookup finds stripe-mock: on PATH, else in GOPATH/bin where go install
// puts it. Its error says how to install it.
func Lookup() (string, error) {
	return peertest.Lookup("stripe-mock", "this test checks requests against Stripe's API with stripe-mock", Install)
}

// Path returns stripe-mock's path. Without it the test fails, saying how
// to install it, unless STEWARD_SKIP_PEERS=1 says to skip tests that need
// a peer.
func Path(t testing.TB) string {
	t.Helper()
	return peertest.Path(t, "stripe-mock", "this test checks requests against Stripe's API with stripe-mock", Install)
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// listening is what stripe-mock prints once it listens for HTTP.
var listening = regexp.MustCompile(`Listening for HTTP at address: (127\.0\.0\.1:[0-9]+)\n`)

// Start runs stripe-mock on a loopback port the system chooses until the
// test ends, and returns its base URL (http://127.0.0.1:PORT) once it answers. It
// fails the test (or skips it, see Path) when it cannot.
func Start(t testing.TB) string {
	t.Helper()
	bin := Path(t)
	out := &lockedBuffer{}
	// Port 0: stripe-mock binds a port the system chooses and says which
	// (Listening for HTTP at address: 127.0.0.1:PORT). A port picked free
	// beforehand could be taken by another process before stripe-mock
	// binds it, and the readiness check would then talk to that process.
	// -https-addr too: with -http-addr alone, stripe-mock also listens for
	// HTTPS on its default port 12112, on every interface, and a second
	// stripe-mock (another test package running at the same time) exits.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting stripe-mock: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	var addr string
	for deadline := time.Now().Add(60 * time.Second); ; {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case <-exited:
			t.Fatalf("stripe-mock exited: %s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not say on which port it listens within 60s:\n%s", out.String())
		}
	}
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", base+"/v1/charges?limit=1", nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		select {
		case <-exited:
			t.Fatalf("stripe-mock exited: %s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not answer on %s within 30s: %v\n%s", addr, err, out.String())
		}
	}
}
