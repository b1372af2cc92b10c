// Package promtest runs a real Prometheus server for tests: Debian's
// prometheus package (make tools installs it), started on a loopback port
// the system chooses with a temporary storage folder, scraping the targets
// a test gives it every second. The observability plugin's tests and the CLI's query it
// through its HTTP API like a production server.
package promtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Server is a running Prometheus.
type Server struct {
	// URL is its address, such as http://127.0.0.1:43121.
	URL string
}

// Binary is the prometheus executable: $PROMETHEUS, else prometheus on
// PATH, else /usr/bin/prometheus.
func Binary() (string, error) {
	if p := os.Getenv("PROMETHEUS"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/prometheus"); err == nil {
		return "/usr/bin/prometheus", nil
	}
	return "", fmt.Errorf("promtest: prometheus is not installed (Debian: apt-get install prometheus, or make tools)")
}

// Start starts Prometheus scraping targets (host:port, path /metrics)
// every second, and waits until it is ready. It is stopped when the test
// ends. A missing binary fails the test: make tools installs it.
func Start(t testing.TB, targets ...string) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	quoted := make([]string, len(targets))
	for i, target := range targets {
		quoted[i] = fmt.Sprintf("%q", target)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: test
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: [%s]
`, strings.Join(quoted, ", "))
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// Port 0: Prometheus binds a port the system chooses and logs it
	// (msg="Listening on" address=127.0.0.1:PORT, at level info). A port
	// picked free beforehand could be taken by another process before
	// Prometheus binds it.
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:0", "--log.level=info")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("promtest: starting %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = logf.Close()
	})
	deadline := time.Now().Add(60 * time.Second)
	var addr string
	for {
		b, _ := os.ReadFile(logf.Name())
		if m := listening.FindSubmatch(b); m != nil {
			addr = string(m[1])
			break
		}
		select {
		case <-done:
			t.Fatalf("promtest: prometheus exited before it listened:\n%s", b)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("promtest: prometheus did not say on which port it listens within 60s:\n%s", b)
		}
	}
	s := &Server{URL: "http://" + addr}
	for {
		resp, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("promtest: prometheus exited before it was ready:\n%s", b)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("promtest: prometheus not ready after 60s:\n%s", b)
		}
	}
}

// WaitFor waits until query returns at least one sample, that is until
// Prometheus has scraped what the query needs (a rate needs two scrapes),
// and fails the test after a minute.
func (s *Server) WaitFor(t testing.TB, query string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.PostForm(s.URL+"/api/v1/query", url.Values{"query": {query}})
		if err == nil {
			var r struct {
				Data struct {
					Result []json.RawMessage `json:"result"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&r)
			_ = resp.Body.Close()
			if err == nil && len(r.Data.Result) > 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("promtest: %s returned nothing after a minute (last error: %v)", query, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// listening is the line Prometheus logs once it listens.
var listening = regexp.MustCompile(`msg="Listening on" address=(127\.0\.0\.1:[0-9]+)`)
