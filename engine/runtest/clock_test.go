package runtest

import (
	"sync"
	"testing"
	"time"
)

func TestClockTimersFireAtOnce(t *testing.T) {
	c := NewClock(Start)
	tm := c.NewTimer(2 * time.Second)
	select {
	case got := <-tm.Chan():
		if want := Start.Add(2 * time.Second); !got.Equal(want) {
			t.Fatalf("timer fired at %v, want %v", got, want)
		}
	default:
		t.Fatal("the timer has not fired")
	}
	if tm.Stop() {
		t.Error("Stop of a fired timer reported true")
	}
	tm.Reset(time.Second)
	if got := <-tm.Chan(); !got.Equal(Start.Add(3 * time.Second)) {
		t.Errorf("reset timer fired at %v", got)
	}
	<-c.After(time.Minute)
	c.Sleep(time.Hour)
	c.Sleep(-time.Hour) // never backward
	if got, want := c.Since(Start), time.Hour+time.Minute+3*time.Second; got != want {
		t.Errorf("Since = %v, want %v", got, want)
	}
	if got := c.Until(Start); got != -(time.Hour + time.Minute + 3*time.Second) {
		t.Errorf("Until = %v", got)
	}
}

func TestClockAfterFuncNeverFires(t *testing.T) {
	c := NewClock(Start)
	fired := make(chan struct{}, 1)
	tm := c.AfterFunc(time.Nanosecond, func() { fired <- struct{}{} })
	c.Sleep(time.Hour)
	if tm.Chan() != nil {
		t.Error("an AfterFunc timer has a channel")
	}
	if !tm.Stop() {
		t.Error("the first Stop reported the timer inactive")
	}
	if tm.Stop() {
		t.Error("the second Stop reported the timer active")
	}
	if tm.Reset(time.Second) {
		t.Error("Reset of a stopped timer reported it active")
	}
	select {
	case <-fired:
		t.Fatal("AfterFunc fired")
	default:
	}
}

func TestClockTicker(t *testing.T) {
	c := NewClock(Start)
	tk := c.NewTicker(time.Second)
	for i := 1; i <= 3; i++ {
		if got := <-tk.Chan(); !got.Equal(Start.Add(time.Duration(i) * time.Second)) {
			t.Fatalf("tick %d at %v", i, got)
		}
	}
	tk.Reset(time.Minute)
	tk.Stop()
	tk.Stop()
	tk.Reset(time.Second) // after Stop: does not block
}

func TestClockConcurrent(t *testing.T) {
	c := NewClock(Start)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-c.NewTimer(time.Second).Chan()
			c.Sleep(time.Second)
			_ = c.Now()
		}()
	}
	wg.Wait()
	if got := c.Since(Start); got != 100*time.Second {
		t.Errorf("after 100 waits of 1s the clock moved %v", got)
	}
}
