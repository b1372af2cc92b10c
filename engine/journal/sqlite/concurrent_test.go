package sqlite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"

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
	case "hold": // hold run arg until killed
		if _, err := s.Acquire(context.Background(), arg); err != nil {
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

// appendRuns appends n runs of 3 records each, in 2 batches, and a
// record to the run "shared" after each.
func appendRuns(s journal.Store, prefix string, n int) error {
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		run := journal.Run{ID: id, Runbook: "rb", Status: "running", StartedAt: t0, UpdatedAt: t0}
		if _, err := s.Append(ctx, journal.Batch{RunID: id, Run: &run, Sync: i%10 == 0, Entries: []journal.Entry{
			entry("run.started", i, `{"by":"`+prefix+`"}`), entry("step.started", i, ""),
		}}); err != nil {
			return err
		}
		run.Status = "succeeded"
		if _, err := s.Append(ctx, journal.Batch{RunID: id, Run: &run, Entries: []journal.Entry{entry("run.finished", i, "")}}); err != nil {
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

// Two stores on one database, appending from many goroutines: every
// append gets its turn and the chain holds.
func TestConcurrentStores(t *testing.T) {
	home := t.TempDir()
	stores := []*Store{open(t, home), open(t, home)}
	startShared(t, stores[0])
	const goroutines, runs = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() { errs <- appendRuns(stores[g%2], fmt.Sprintf("g%d", g), runs) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	verifyClean(t, stores[1], 1+goroutines*runs*4, 1+goroutines*runs)
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

func TestAcquire(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	other := open(t, s.home)
	live := func(want bool) {
		t.Helper()
		if got, err := other.Live(ctx, "r1"); err != nil || got != want {
			t.Fatalf("Live = %v, %v; want %v", got, err, want)
		}
	}
	live(false)
	release, err := s.Acquire(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	live(true)
	// flock locks belong to the open file: a second Acquire in this
	// process, through either store, conflicts too.
	for _, st := range []*Store{s, other} {
		if _, err := st.Acquire(ctx, "r1"); !errors.Is(err, journal.ErrRunBusy) {
			t.Fatalf("second Acquire: %v", err)
		}
	}
	live(true) // Live does not take the lock
	r2, err := other.Acquire(ctx, "r2")
	if err != nil {
		t.Fatal(err)
	}
	r2()
	release()
	release() // twice is fine
	live(false)
	if _, err := os.Stat(s.locks + "/r1.lock"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the lock file stays: %v", err)
	}
	release, err = other.Acquire(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	release()

	for _, id := range []string{"", ".hidden", "a/b", "..", `a\b`} {
		want := fmt.Sprintf("journal: %q is not a valid run id", id)
		if _, err := s.Acquire(ctx, id); err == nil || err.Error() != want {
			t.Errorf("Acquire(%q): %v", id, err)
		}
		if _, err := s.Live(ctx, id); err == nil || err.Error() != want {
			t.Errorf("Live(%q): %v", id, err)
		}
	}
}

// Many goroutines race for one run: exactly one holds it at a time.
func TestAcquireRace(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	var mu sync.Mutex
	holders, got := 0, 0
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				release, err := s.Acquire(ctx, "r")
				if errors.Is(err, journal.ErrRunBusy) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				holders++
				got++
				if holders != 1 {
					t.Errorf("%d holders", holders)
				}
				mu.Unlock()
				if live, err := s.Live(ctx, "r"); err != nil || !live {
					t.Errorf("Live while held = %v, %v", live, err)
				}
				mu.Lock()
				holders--
				mu.Unlock()
				release()
			}
		})
	}
	wg.Wait()
	if got == 0 {
		t.Fatal("nobody acquired the run")
	}
}

// The kernel releases the lock of a process that dies.
func TestLiveAfterKill(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	h := startHelper(t, "hold", s.home, "r1")
	h.expect(t, "acquired")
	if live, err := s.Live(ctx, "r1"); err != nil || !live {
		t.Fatalf("Live = %v, %v while the helper holds it", live, err)
	}
	if _, err := s.Acquire(ctx, "r1"); !errors.Is(err, journal.ErrRunBusy) {
		t.Fatalf("Acquire: %v", err)
	}
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Wait(); err == nil {
		t.Fatal("the helper was not killed")
	}
	if live, err := s.Live(ctx, "r1"); err != nil || live {
		t.Fatalf("Live = %v, %v after the helper died", live, err)
	}
	release, err := s.Acquire(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	release()
}
