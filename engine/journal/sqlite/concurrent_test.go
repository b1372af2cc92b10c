package sqlite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// The helper process: the test binary run again with helperEnv set.
const (
	helperEnv  = "STEWARD_JOURNAL_HELPER"
	helperHome = "STEWARD_JOURNAL_HOME"
	helperArg  = "STEWARD_JOURNAL_ARG"
)

func helperMain(mode string) int {
	s, err := Open(os.Getenv(helperHome))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer s.Close()
	in := bufio.NewReader(os.Stdin)
	arg := os.Getenv(helperArg)
	switch mode {
	case "append": // append arg runs when told to go
		n, _ := strconv.Atoi(arg)
		fmt.Println("ready")
		if _, err := in.ReadString('\n'); err != nil {
			return 2
		}
		if err := appendRuns(s, "child", n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("done")
	case "detach": // append arg runs, say the head, exit after Detach
		n, _ := strconv.Atoi(arg)
		if err := appendRuns(s, "detached", n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		seq, hash, err := s.Head(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(seq, hash)
		s.Detach()
		os.Exit(0) // without Close: no checkpoint
	case "churn": // append runs named arg-N until a line comes on stdin
		stop := make(chan struct{})
		go func() {
			_, _ = in.ReadString('\n')
			close(stop)
		}()
		fmt.Println("ready")
		n := 0
		for ; ; n++ {
			select {
			case <-stop:
				fmt.Println("stopped", n)
				return 0
			default:
			}
			if err := appendRuns(s, fmt.Sprintf("%s-%d", arg, n), 1); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	case "hold": // hold run arg until killed
		if err := s.AcquireLease(context.Background(), testLease(arg, "helper", time.Now())); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("acquired")
		_, _ = in.ReadString('\n')
	}
	return 0
}

type helper struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startHelper(t *testing.T, mode, home, arg string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperHome+"="+home, helperArg+"="+arg)
	cmd.Stderr = os.Stderr
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
	return &helper{cmd: cmd, in: in, out: bufio.NewReader(out)}
}

func (h *helper) expect(t *testing.T, want string) {
	t.Helper()
	line, err := h.out.ReadString('\n')
	if err != nil || line != want+"\n" {
		t.Fatalf("helper said %q (%v), want %q", line, err, want)
	}
}

// appendRuns appends n runs of 3 records each, in 2 batches, with
// summaries that match them, and a record to the run "shared" after each.
func appendRuns(s journal.Store, prefix string, n int) error {
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		start := entry("run.started", i, `{"runbook":"rb","actor":"`+prefix+`"}`)
		run := journal.Run{ID: id, Runbook: "rb", Actor: prefix, Status: "running", StartedAt: start.Time, UpdatedAt: start.Time}
		if _, err := s.Append(ctx, journal.Batch{RunID: id, Run: &run, Sync: i%10 == 0, Entries: []journal.Entry{
			start, entry("step.started", i, ""),
		}}); err != nil {
			return err
		}
		end := entry("run.finished", i, `{"status":"succeeded"}`)
		run.Status, run.FinishedAt = "succeeded", end.Time
		if _, err := s.Append(ctx, journal.Batch{RunID: id, Run: &run, Entries: []journal.Entry{end}}); err != nil {
			return err
		}
		if _, err := s.Append(ctx, journal.Batch{RunID: "shared", Entries: []journal.Entry{entry("step.finished", i, "")}}); err != nil {
			return err
		}
	}
	return nil
}

func startShared(t *testing.T, s journal.Store) {
	t.Helper()
	run := journal.Run{ID: "shared", Status: "running", StartedAt: t0, UpdatedAt: t0}
	if _, err := s.Append(context.Background(), journal.Batch{RunID: "shared", Run: &run, Entries: []journal.Entry{entry("run.started", 0, "")}}); err != nil {
		t.Fatal(err)
	}
}

// A second process appends while this one does.
func TestConcurrentProcesses(t *testing.T) {
	home := t.TempDir()
	s := open(t, home)
	startShared(t, s)
	const runs = 50
	h := startHelper(t, "append", home, strconv.Itoa(runs))
	h.expect(t, "ready")
	if _, err := io.WriteString(h.in, "go\n"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for g := range 2 {
		wg.Go(func() { errs <- appendRuns(s, fmt.Sprintf("parent%d", g), runs) })
	}
	wg.Wait()
	h.expect(t, "done")
	if err := h.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	verifyClean(t, s, 1+3*runs*4, 1+3*runs)
}

func testLease(id, holder string, now time.Time) journal.Lease {
	return journal.Lease{RunID: id, Holder: holder, Host: hostname(), PID: os.Getpid(), Heartbeat: now, Expires: now.Add(15 * time.Second)}
}

// What the conformance suite does not say of leases: the holder's flock
// file goes when the lease is released; a lease without Acquired was
// acquired at its heartbeat; run ids that are paths are refused.
func TestLease(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := open(t, t.TempDir())
	other := open(t, s.home)
	if err := s.AcquireLease(ctx, testLease("r1", "a", now)); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(s.home, "locks", lockKey("r1", "a")+".lock")
	if _, err := os.Stat(lock); err != nil {
		t.Fatalf("the holder's lock file: %v", err)
	}
	l, live, err := other.Lease(ctx, "r1", now)
	if err != nil || !live || l.Holder != "a" || l.PID != os.Getpid() || !l.Acquired.Equal(now.UTC()) {
		t.Fatalf("Lease = %+v, %v, %v", l, live, err)
	}
	if err := s.ReleaseLease(ctx, "r1", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the lock file stays: %v", err)
	}
	for _, id := range []string{"..", `a\b`, "a\x00b"} {
		want := fmt.Sprintf("journal: %q is not a valid run id", id)
		if err := s.AcquireLease(ctx, testLease(id, "a", now)); err == nil || err.Error() != want {
			t.Errorf("AcquireLease(%q): %v", id, err)
		}
		if _, _, err := s.Lease(ctx, id, now); err == nil || err.Error() != want {
			t.Errorf("Lease(%q): %v", id, err)
		}
		if _, err := s.RenewLease(ctx, testLease(id, "a", now)); err == nil || err.Error() != want {
			t.Errorf("RenewLease(%q): %v", id, err)
		}
		if err := s.ReleaseLease(ctx, id, "a"); err == nil || err.Error() != want {
			t.Errorf("ReleaseLease(%q): %v", id, err)
		}
	}
}

// A lease of another host sharing the store is live until it expires,
// then taken over.
func TestLeaseOtherHostExpires(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := open(t, t.TempDir())
	far := open(t, s.home)
	far.host = "elsewhere"
	l := testLease("r1", "far", now)
	l.Host = "elsewhere"
	if err := far.AcquireLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	far.locks.closeAll() // its flock means nothing here: another host
	if _, live, err := s.Lease(ctx, "r1", now.Add(14*time.Second)); err != nil || !live {
		t.Fatalf("before expiry: live = %v, %v", live, err)
	}
	if err := s.AcquireLease(ctx, testLease("r1", "near", now.Add(14*time.Second))); !errors.Is(err, journal.ErrRunBusy) {
		t.Fatalf("AcquireLease before expiry: %v", err)
	}
	if _, live, err := s.Lease(ctx, "r1", now.Add(16*time.Second)); err != nil || live {
		t.Fatalf("after expiry: live = %v, %v", live, err)
	}
	if err := s.AcquireLease(ctx, testLease("r1", "near", now.Add(16*time.Second))); err != nil {
		t.Fatalf("AcquireLease after expiry: %v", err)
	}
	if _, err := far.RenewLease(ctx, l); !errors.Is(err, journal.ErrLeaseLost) {
		t.Fatalf("the old holder renews: %v", err)
	}
}

// The lease of a process that dies (kill -9) on this host ends at once:
// the kernel releases its flock.
func TestLeaseAfterKill(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	h := startHelper(t, "hold", s.home, "r1")
	h.expect(t, "acquired")
	if _, live, err := s.Lease(ctx, "r1", time.Now()); err != nil || !live {
		t.Fatalf("live = %v, %v while the helper holds it", live, err)
	}
	if err := s.AcquireLease(ctx, testLease("r1", "me", time.Now())); !errors.Is(err, journal.ErrRunBusy) {
		t.Fatalf("AcquireLease: %v", err)
	}
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Wait(); err == nil {
		t.Fatal("the helper was not killed")
	}
	if _, live, err := s.Lease(ctx, "r1", time.Now()); err != nil || live {
		t.Fatalf("live = %v, %v after the helper died", live, err)
	}
	stale := filepath.Join(s.home, "locks", lockKey("r1", "helper")+".lock")
	if _, err := os.Stat(stale); err != nil {
		t.Fatalf("the dead helper's lock file: %v", err)
	}
	if err := s.AcquireLease(ctx, testLease("r1", "me", time.Now())); err != nil {
		t.Fatal(err)
	}
	// Taking over the dead holder's lease removed its lock file.
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the dead helper's lock file stays: %v", err)
	}
}

// A process that exits after Detach, without closing its connections,
// leaves every record it committed in the WAL (SQLite's checkpoint at the
// last close did not run); the next process reads them all back.
func TestDetachKeepsEveryRecord(t *testing.T) {
	home := t.TempDir()
	s := open(t, home)
	startShared(t, s)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=detach", helperHome+"="+home, helperArg+"=20")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	wal, err := os.Stat(filepath.Join(home, DBFile+"-wal"))
	if err != nil || wal.Size() == 0 {
		t.Fatalf("the WAL after Detach: %v, %v: want the records there, not checkpointed", wal, err)
	}
	var seq int64
	var hash string
	if _, err := fmt.Sscan(string(out), &seq, &hash); err != nil {
		t.Fatalf("helper said %q: %v", out, err)
	}
	other := open(t, home)
	for _, st := range []*Store{s, other} {
		if got, h, err := st.Head(context.Background()); err != nil || got != seq || h != hash {
			t.Fatalf("Head = %d %s, %v; the detached process wrote up to %d %s", got, h, err, seq, hash)
		}
	}
	verifyClean(t, other, int(seq), 21)
}
