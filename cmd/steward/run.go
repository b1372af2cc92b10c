package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"sort"
	"strings"
	"syscall"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/progress"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
	"golang.org/x/term"
	"gopkg.in/yaml.v3"
)

type runFlags struct {
	inputs    []string
	inputFile string
	dryRun    bool
	actor     string
	output    string
	parallel  int
	progress  string
}

func newRunCmd(g *globalFlags) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run NAME|FILE",
		Short: "Run a runbook now and show its progress",
		Long: `Run a runbook: by name (looked up in the folders of steward.yaml's
runbooks list, default ./runbooks, then in the bundled library) or by file
path.

Inputs are given with --input NAME=VALUE (repeatable) or --inputs FILE (JSON
or YAML); --input wins over the file. Values are converted by the input's
declared type: integers, numbers and booleans are parsed, arrays and objects
are JSON. Every input problem is listed before anything runs.

Independent steps run in parallel, at most --parallel actions at once.
In a terminal each step has a line that updates in place; otherwise one
line is printed per state change. A summary with the run's outputs ends it.

--dry-run executes read-only actions and shows what the others would do
with the values they would get; outputs that depend on them are unknown.

Ctrl-C cancels the run: running actions are stopped, the undo of finished
steps runs, and the run ends cancelled. A second Ctrl-C exits at once.

Every run is recorded in the journal under --home as it happens (see
steward runs, show, audit). A step with an approval makes the run wait:
steward prints the approve command and exits 3. A run whose process died
is continued with steward resume RUN_ID.

Exit status: 0 succeeded, 1 failed or cancelled, 2 invalid runbook or
inputs (nothing ran), 3 waiting for an approval.`,
		Example: `  steward run check-endpoint --input url=https://example.com
  steward run runbooks/refund.yaml --inputs ticket-4711.json --dry-run
  steward run stuck-transaction --input chain_id=1 --input tx=0xabc -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRunbook(cmd, g, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.inputs, "input", "i", nil, "an input as NAME=VALUE (repeatable)")
	fl.StringVar(&f.inputFile, "inputs", "", "a JSON or YAML file of inputs")
	fl.BoolVar(&f.dryRun, "dry-run", false, "run read-only actions only; show what the others would do")
	fl.StringVar(&f.actor, "as", "", "who runs it (default: your user name)")
	fl.StringVarP(&f.output, "output", "o", "text", "text, or json: print only the final run document")
	fl.IntVar(&f.parallel, "parallel", engine.DefaultParallel, "actions running at once, at most")
	fl.StringVar(&f.progress, "progress", "auto", "auto, live (update lines in place) or plain (one line per change)")
	return cmd
}

func usageError(format string, args ...any) error {
	return &exitError{code: exitInvalid, err: fmt.Errorf(format, args...)}
}

func runRunbook(cmd *cobra.Command, g *globalFlags, f *runFlags, ref string) error {
	if err := checkOutput(f.output, f.progress); err != nil {
		return err
	}
	if f.parallel < 1 || f.parallel > 1024 {
		return usageError("--parallel must be between 1 and 1024, got %d", f.parallel)
	}
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	folders := cfg.Runbooks
	doc, err := runbooks.Resolve(ref, folders)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	clock := clockwork.NewRealClock()
	files, _ := doc.Files()
	opts := engine.Options{Clock: clock, Parallel: f.parallel, DryRun: f.dryRun, Actor: actor(f.actor),
		Version: doc.SHA256, Secret: envSecret, Redact: &redact.Set{}, Files: files}
	subs := &subRunJournal{by: opts.Actor}
	reg := newRegistry(clock, folders, opts, subs)
	host, err := openPlugins(cmd, g, cfg, reg, opts.Redact)
	if err != nil {
		return err
	}
	defer host.Close()
	opts.Registry = reg
	rb, diags := schema.Check(doc.File, doc.Src, reg)
	if err := refuseDiagnostics(cmd.ErrOrStderr(), doc.File, diags); err != nil {
		return err
	}
	inputs, errs, err := readInputs(rb, f)
	if err != nil {
		return err
	}
	if errs = mergeInputErrors(errs, inputs, rb); len(errs) > 0 {
		return inputErrors(cmd.ErrOrStderr(), rb, errs)
	}

	store, err := openStore(g)
	if err != nil {
		return err
	}
	defer store.Close()
	subs.store = store
	now := clock.Now()
	run, src, origin := newRunRecord(engine.NewRunID(now), rb, doc, opts, now)
	x := &execution{cmd: cmd, cfg: cfg, store: store, rb: rb, opts: opts, run: run, source: src, origin: origin,
		output: f.output, progress: f.progress}
	return x.execute(inputs)
}

// refuseDiagnostics prints the problems of a runbook about to run, and
// says that nothing ran. A warning is a problem here: a step whose plugin
// is not installed cannot run.
func refuseDiagnostics(w io.Writer, file string, diags schema.Diagnostics) error {
	if len(diags) == 0 {
		return nil
	}
	fmt.Fprint(w, diags.Strict().Render())
	if errs, _ := diags.Count(); errs == 0 {
		return &exitError{code: exitInvalid, err: fmt.Errorf("%s cannot run here: it uses a plugin that is not installed; nothing ran", file)}
	}
	return &exitError{code: exitInvalid, err: fmt.Errorf("%s is invalid: %s; nothing ran", file, plural(len(diags), "problem"))}
}

// newPrinter chooses live or plain progress.
func newPrinter(w io.Writer, style string, rb *schema.Runbook) *progress.Printer {
	width := 0
	for _, st := range append(append([]*schema.Step(nil), rb.Steps...), rb.OnFailure...) {
		width = max(width, len(st.ID))
	}
	opts := progress.Options{StepWidth: width}
	file, isFile := w.(*os.File)
	tty := isFile && term.IsTerminal(int(file.Fd()))
	opts.Live = style == "live" || (style == "auto" && tty)
	if opts.Live {
		opts.Color = os.Getenv("NO_COLOR") == "" && tty
		if tty {
			opts.Width, _, _ = term.GetSize(int(file.Fd()))
		}
	}
	return progress.New(w, opts)
}

// interruptible returns a context cancelled by the first SIGINT or
// SIGTERM; a second one exits at once.
func interruptible(errw io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
		case <-done:
			return
		}
		fmt.Fprintln(errw, "\ncancelling: running actions are stopped and undo runs; press Ctrl-C again to exit at once")
		cancel()
		select {
		case <-sig:
			fmt.Fprintln(errw, "exiting without cleaning up")
			os.Exit(exitFailed)
		case <-done:
		}
	}()
	return ctx, func() { signal.Stop(sig); close(done); cancel() }
}

// readInputs reads --inputs FILE, then --input NAME=VALUE over it. It
// returns the values it could convert and a problem for each it could not.
func readInputs(rb *schema.Runbook, f *runFlags) (map[string]any, []*engine.InputError, error) {
	inputs := map[string]any{}
	if f.inputFile != "" {
		b, err := readCapped(f.inputFile, schema.MaxFileSize)
		if err != nil {
			return nil, nil, usageError("--inputs: %v", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, nil, usageError("--inputs %s: not a JSON or YAML mapping: %v", f.inputFile, err)
		}
		for k, v := range m {
			inputs[k] = v
		}
	}
	var errs []*engine.InputError
	for _, kv := range f.inputs {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			errs = append(errs, &engine.InputError{Message: fmt.Sprintf("--input %q: write NAME=VALUE", kv)})
			continue
		}
		in := findInput(rb, name)
		if in == nil {
			inputs[name] = val // reported as unknown by CheckInputs
			continue
		}
		v, err := engine.ParseInput(in, val)
		if err != nil {
			msg := err.Error()
			if in.Secret {
				msg = "is not a valid " + string(in.Type)
			}
			errs = append(errs, &engine.InputError{Input: name, Message: msg})
			delete(inputs, name)
			continue
		}
		inputs[name] = v
	}
	return inputs, errs, nil
}

// mergeInputErrors adds the problems CheckInputs finds to those of
// reading, once per input.
func mergeInputErrors(errs []*engine.InputError, inputs map[string]any, rb *schema.Runbook) []*engine.InputError {
	bad := map[string]bool{}
	for _, e := range errs {
		bad[e.Input] = true
	}
	_, more := engine.CheckInputs(rb, inputs)
	for _, e := range more {
		if !bad[e.Input] {
			errs = append(errs, e)
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Input < errs[j].Input })
	return errs
}

func findInput(rb *schema.Runbook, name string) *schema.Input {
	for _, in := range rb.Inputs {
		if in.Name == name {
			return in
		}
	}
	return nil
}

func inputErrors(w io.Writer, rb *schema.Runbook, errs []*engine.InputError) error {
	for _, e := range errs {
		fmt.Fprintf(w, "%s: %s\n", rb.Name, e.Error())
		if e.Hint != "" {
			fmt.Fprintf(w, "  hint: %s\n", e.Hint)
		}
	}
	return &exitError{code: exitInvalid, err: fmt.Errorf("%s; nothing ran", plural(len(errs), "invalid input"))}
}

// envSecret resolves secret(NAME) from STEWARD_SECRET_NAME.
func envSecret(name string) (string, bool) {
	return os.LookupEnv("STEWARD_SECRET_" + strings.ToUpper(name))
}

func actor(flag string) string {
	if flag != "" {
		return flag
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// readCapped reads a file of at most limit bytes.
func readCapped(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%s is larger than %d KiB", path, limit>>10)
	}
	return b, nil
}
