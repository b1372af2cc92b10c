package sdktest_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fatalTB records a fatal failure instead of failing the test.
type fatalTB struct {
	testing.TB
	fatal string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartFailsTheTestOfABadPlugin(t *testing.T) {
	type in struct {
		Callback func() `json:"callback"`
	}
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sdktest.Start(f, sdk.Plugin{Name: "bad", Actions: []sdk.ActionDef{
			sdk.Action("hook", func(context.Context, *sdk.Call, in) (struct{}, error) { return struct{}{}, nil }),
		}})
	}()
	<-done
	want := `sdktest: plugin bad: action "hook": input: field "callback" (in.Callback): type func() cannot be JSON`
	if f.fatal != want {
		t.Errorf("fatal %q, want %q", f.fatal, want)
	}
}

func TestActionFailsTheTestOfAnUnknownAction(t *testing.T) {
	p := sdktest.Start(t, sdk.Plugin{Name: "one", Actions: []sdk.ActionDef{
		sdk.Action("a", func(context.Context, *sdk.Call, struct{}) (struct{}, error) { return struct{}{}, nil }),
	}})
	if p.Action("a").Name != "one.a" {
		t.Error("Action(a)")
	}
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sdktest.Start(f, sdk.Plugin{Name: "two"}).Action("b")
	}()
	<-done
	if f.fatal != `sdktest: plugin two has no action "b"` {
		t.Errorf("fatal %q", f.fatal)
	}
}
