package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

// benchServerEnv makes the test binary an API server process (HOME:DIR),
// for the benchmarks to load from another process. It wires the API as
// steward serve does (a run service over SQLite, the built-in core
// actions), with the test middleware for identity: steward serve cannot
// authenticate before the tokens package is merged.
const benchServerEnv = "STEWARD_API_BENCH_SERVER"

func benchServer(spec string) int {
	home, dir, _ := strings.Cut(spec, ":")
	store, err := sqlite.Open(home)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	folders := []string{dir}
	clock := clockwork.NewRealClock()
	svc := runs.New(runs.Config{
		Store: store,
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			_ = reg.Register(core.Actions(clock, sub)...)
			return reg
		},
		Resolve: func(name string, _ *runbooks.Pinned) (*runbooks.Document, error) {
			return runbooks.ResolveName(name, folders)
		},
		Host: "bench", PID: os.Getpid(),
	})
	srv, err := api.New(context.Background(), api.Config{
		Runs: svc, Store: store,
		Runbooks:     func() ([]*runbooks.Entry, error) { return runbooks.List(folders) },
		Resolve:      func(name string) (*runbooks.Document, error) { return runbooks.ResolveName(name, folders) },
		Authenticate: testAuthenticate,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if path := os.Getenv(benchServerEnv + "_CPUPROFILE"); path != "" {
		// go test -bench ... with STEWARD_API_BENCH_SERVER_CPUPROFILE=FILE
		// profiles the server process.
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	if path := os.Getenv(benchServerEnv + "_BLOCKPROFILE"); path != "" {
		// Where goroutines wait (the tail of request latency): blocking
		// events of 1ms or more.
		runtime.SetBlockProfileRate(int(time.Millisecond))
		runtime.SetMutexProfileFraction(10)
		defer func() {
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("block").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	fmt.Println(ln.Addr().String())
	hs := &http.Server{Handler: srv}
	go func() { _ = hs.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	_ = hs.Close()
	_ = srv.Wait(context.Background())
	store.Close()
	return 0
}

const chain10 = `version: 1
name: chain
steps:
  - {id: s1, action: core.set, with: {n: 1}}
  - {id: s2, action: core.set, with: {n: 2}}
  - {id: s3, action: core.set, with: {n: 3}}
  - {id: s4, action: core.set, with: {n: 4}}
  - {id: s5, action: core.set, with: {n: 5}}
  - {id: s6, action: core.set, with: {n: 6}}
  - {id: s7, action: core.set, with: {n: 7}}
  - {id: s8, action: core.set, with: {n: 8}}
  - {id: s9, action: core.set, with: {n: 9}}
  - {id: s10, action: core.set, with: {n: 10}}
`

const oneStep = `version: 1
name: one
steps:
  - {id: s1, action: core.set, with: {n: 1}}
`

// BenchmarkAPIStartOneStep: b.N runs of a 1-step runbook started over
// HTTP by 32 clients as fast as they go, against a server process;
// reports runs/s (from the first request to the last run's end), the
// p50/p99 of request to 202 (the run.started record written), and the
// server's RSS idle and at its peak.
//
//	go test -run X -bench APIStart -benchtime 9000x ./engine/api/
func BenchmarkAPIStartOneStep(b *testing.B) { benchAPI(b, "one", oneStep, 0) }

// BenchmarkAPIStartOneStepAt300: requests sent at 300/s whatever the
// answers (an open loop: a slow answer does not slow the load), latency
// measured from when each request was due.
func BenchmarkAPIStartOneStepAt300(b *testing.B) { benchAPI(b, "one", oneStep, 300) }

// BenchmarkAPIStartTenSteps: a chain of 10 steps, as fast as it goes.
func BenchmarkAPIStartTenSteps(b *testing.B) { benchAPI(b, "chain", chain10, 0) }

// BenchmarkAPIStartTenStepsAt100: the chain at 100 requests/s.
func BenchmarkAPIStartTenStepsAt100(b *testing.B) { benchAPI(b, "chain", chain10, 100) }

func benchAPI(b *testing.B, name, src string, rate int) {
	home, dir := b.TempDir(), b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	srv := exec.Command(os.Args[0])
	srv.Env = append(os.Environ(), benchServerEnv+"="+home+":"+dir)
	srv.Stderr = os.Stderr
	out, err := srv.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = srv.Process.Signal(syscall.SIGTERM); _ = srv.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	base := "http://" + strings.TrimSpace(line)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func() (time.Duration, error) {
		body, _ := json.Marshal(api.StartRequest{Runbook: name})
		req, _ := http.NewRequest("POST", base+"/api/v1/runs", bytes.NewReader(body))
		req.Header.Set("X-Test-Principal", "ops")
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			return 0, fmt.Errorf("status %d", res.StatusCode)
		}
		return time.Since(t0), nil
	}
	// Warm up (connections, the runbook cache of the OS), then measure.
	for range 20 {
		if _, err := post(); err != nil {
			b.Fatal(err)
		}
	}
	waitIdle(b, client, base)
	idle := rss(b, srv.Process.Pid)
	const clients = 32
	lat := make([]time.Duration, b.N)
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, b.N)
	b.ResetTimer()
	start := time.Now()
	if rate > 0 {
		// Open loop: request i is due at start + i/rate.
		every := time.Second / time.Duration(rate)
		for i := range b.N {
			due := start.Add(time.Duration(i) * every)
			time.Sleep(time.Until(due))
			wg.Go(func() {
				d, err := post()
				if err != nil {
					errs <- err
					return
				}
				_ = d
				lat[i] = time.Since(due) // from when it was due
			})
		}
	} else {
		for range clients {
			wg.Go(func() {
				for {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= b.N {
						return
					}
					d, err := post()
					if err != nil {
						errs <- err
						return
					}
					lat[i] = d
				}
			})
		}
	}
	wg.Wait()
	started := time.Since(start)
	waitIdle(b, client, base)
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	slices.Sort(lat)
	peak := hwm(b, srv.Process.Pid)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "runs/s")
	b.ReportMetric(float64(b.N)/started.Seconds(), "starts/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(idle)/1024, "idle-RSS-MiB")
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
}

// waitIdle waits until no run is running.
func waitIdle(b *testing.B, client *http.Client, base string) {
	for {
		req, _ := http.NewRequest("GET", base+"/api/v1/runs?status=running&limit=1", nil)
		req.Header.Set("X-Test-Principal", "viewer")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var l api.RunList
		err = json.NewDecoder(res.Body).Decode(&l)
		res.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		if len(l.Runs) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rss and hwm read a process's resident set now and at its peak, in KiB.
func rss(b *testing.B, pid int) int64 { return procStatus(b, pid, "VmRSS:") }
func hwm(b *testing.B, pid int) int64 { return procStatus(b, pid, "VmHWM:") }

func procStatus(b *testing.B, pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	return 0
}
