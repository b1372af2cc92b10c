package execaction

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/schema"
)

// Name is the action's name in runbooks.
const Name = "exec"

// Error codes of exec, besides the common ones of package actions.
const (
	CodeNotFound   actions.Code = "not_found"
	CodeExitStatus actions.Code = "exit_status"
)

const (
	defaultMaxOutput = 1 << 20   // 1 MiB
	maxMaxOutput     = 100 << 20 // 100 MiB
	defaultPath      = "/usr/local/bin:/usr/bin:/bin"
	// waitDelay is how long Wait waits for the output pipes once the
	// program has exited or been killed.
	waitDelay = 2 * time.Second
	clipLen   = 200 // the most characters of stderr a message shows
)

// inherited are the variables passed on from the host when it sets them.
var inherited = []string{"HOME", "LANG", "LC_ALL", "TMPDIR"}

func ptr(f float64) *float64 { return &f }

var spec = actions.Spec{
	Name: Name,
	Description: "Runs a program with an argv list, never through a shell, and returns its exit code, " +
		"stdout and stderr. The environment is not inherited: the program gets PATH (the host's, or " +
		defaultPath + "), HOME, LANG, LC_ALL and TMPDIR when the host sets them, and the step's env. " +
		"A non-zero exit fails the step (exit_status). On timeout or cancellation the program's whole " +
		"process group is killed.",
	Input: &schema.DataSchema{
		Type: schema.Types{"object"},
		Properties: map[string]*schema.DataSchema{
			"command": {
				Type:        schema.Types{"array"},
				Items:       &schema.DataSchema{Type: schema.Types{"string"}},
				Description: "The program and its arguments, at least one item, e.g. [systemctl, restart, nginx]. Not run through a shell.",
			},
			"env": {
				Type:                 schema.Types{"object"},
				AdditionalProperties: &schema.DataSchema{Type: schema.Types{"string"}},
				Description:          "Environment variables added to the minimal environment.",
			},
			"dir": {
				Type:        schema.Types{"string"},
				Description: "The working directory. Default: the engine's.",
			},
			"stdin": {
				Type:        schema.Types{"string"},
				Description: "Text written to the program's standard input. Default: empty.",
			},
			"timeout": {
				Type:        schema.Types{"string"},
				Format:      "duration",
				Description: "The longest the program may run; the step's own timeout also applies.",
			},
			"max_output": {
				Type:        schema.Types{"integer"},
				Minimum:     ptr(0),
				Maximum:     ptr(maxMaxOutput),
				Default:     defaultMaxOutput,
				Description: "The most bytes kept of stdout and of stderr each; the rest is discarded and truncated is true.",
			},
		},
		Required: []string{"command"},
	},
	Output: &schema.DataSchema{
		Type: schema.Types{"object"},
		Properties: map[string]*schema.DataSchema{
			"exit_code": {Type: schema.Types{"integer"}, Description: "The exit status: 0."},
			"stdout":    {Type: schema.Types{"string"}, Description: "Standard output."},
			"stderr":    {Type: schema.Types{"string"}, Description: "Standard error."},
			"truncated": {Type: schema.Types{"boolean"}, Description: "Whether stdout or stderr was cut at max_output."},
		},
	},
	Mutates:    true,
	Idempotent: false,
}

type action struct{}

// New returns the exec action.
func New() actions.Action { return action{} }

// Spec implements actions.Action.
func (action) Spec() actions.Spec { return spec }

// input is the with, as decoded.
type input struct {
	Command   []string          `json:"command"`
	Env       map[string]string `json:"env"`
	Dir       string            `json:"dir"`
	Stdin     *string           `json:"stdin"`
	Timeout   string            `json:"timeout"`
	MaxOutput *int64            `json:"max_output"`

	timeout   time.Duration
	maxOutput int
}

func invalid(format string, args ...any) *actions.Error {
	return actions.Errorf(actions.CodeInvalidInput, format, args...)
}

func parse(with map[string]any) (*input, error) {
	if err := spec.Input.Check(with); err != nil {
		return nil, invalid("%v", err)
	}
	in := &input{maxOutput: defaultMaxOutput}
	if err := actions.Decode(with, in); err != nil {
		return nil, err
	}
	if len(in.Command) == 0 || in.Command[0] == "" {
		return nil, invalid("with.command must name a program: [program, arg...]")
	}
	for i, arg := range in.Command {
		if strings.IndexByte(arg, 0) >= 0 {
			return nil, invalid("with.command[%d] holds a NUL byte", i)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(in.Env)) {
		v := in.Env[k]
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, invalid("with.env: %q is not a valid variable name", k)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, invalid("with.env.%s holds a NUL byte", k)
		}
	}
	if in.Dir != "" {
		st, err := os.Stat(in.Dir)
		if err != nil || !st.IsDir() {
			return nil, invalid("with.dir: %q is not a directory", in.Dir)
		}
	}
	if in.Timeout != "" {
		d, err := time.ParseDuration(in.Timeout)
		if err != nil || d <= 0 {
			return nil, invalid("with.timeout must be a positive duration such as 30s, got %q", in.Timeout)
		}
		in.timeout = d
	}
	if in.MaxOutput != nil {
		if *in.MaxOutput < 0 || *in.MaxOutput > maxMaxOutput {
			return nil, invalid("with.max_output must be between 0 and %d, got %d", maxMaxOutput, *in.MaxOutput)
		}
		in.maxOutput = int(*in.MaxOutput)
	}
	return in, nil
}

// environment is the program's environment: the minimal one, then env.
func environment(env map[string]string) []string {
	vars := map[string]string{"PATH": os.Getenv("PATH")}
	if vars["PATH"] == "" {
		vars["PATH"] = defaultPath
	}
	for _, k := range inherited {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	for k, v := range env {
		vars[k] = v
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// lookPath finds a program as exec.LookPath does, but in the program's own
// PATH, and a relative path (one holding a slash) under dir. It returns an
// absolute path.
func lookPath(name, pathList, dir string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		p, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if _, err := exec.LookPath(p); err != nil {
			var ee *exec.Error
			if errors.As(err, &ee) {
				err = ee.Err
			}
			return "", err
		}
		return p, nil
	}
	for _, d := range filepath.SplitList(pathList) {
		if !filepath.IsAbs(d) {
			continue // "" and relative entries would run what the working directory holds
		}
		p := filepath.Join(d, name)
		if _, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("not found in PATH (the exec environment is minimal: give a full path, or set PATH in env)")
}

// Execute implements actions.Action.
func (action) Execute(ctx context.Context, req *actions.Request) (map[string]any, error) {
	var with map[string]any
	var logf func(level, message string)
	if req != nil {
		with, logf = req.With, req.Log
	}
	in, err := parse(with)
	if err != nil {
		return nil, err
	}
	name := in.Command[0]
	env := environment(in.Env)
	pathList := defaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathList = v
		}
	}
	path, err := lookPath(name, pathList, in.Dir)
	if err != nil {
		return nil, &actions.Error{Code: CodeNotFound, Message: fmt.Sprintf("command %q: %v", name, err), Err: err}
	}

	parent := ctx
	if in.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, in.timeout)
		defer cancel()
	}
	if ctx.Err() != nil {
		return nil, in.stopped(parent)
	}

	stdout, stderr := newCapped(in.maxOutput), newCapped(in.maxOutput)
	cmd := exec.CommandContext(ctx, path, in.Command[1:]...)
	cmd.Args[0] = name
	cmd.Env = env
	cmd.Dir = in.Dir
	if in.Stdin != nil {
		cmd.Stdin = strings.NewReader(*in.Stdin)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The group's id is its leader's pid: kill every process in it.
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	cmd.WaitDelay = waitDelay

	err = cmd.Run()
	if err != nil && ctx.Err() != nil {
		return nil, in.stopped(parent)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		return nil, in.exitError(req, exitErr, stderr)
	case errors.Is(err, exec.ErrWaitDelay):
		// It exited 0, but a background process it started still holds
		// stdout or stderr: what came after the exit is not kept.
		if logf != nil {
			logf("warn", fmt.Sprintf("command %q exited but a process it started kept its output open; "+
				"output after the exit was not kept", name))
		}
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOEXEC):
		// Found but not runnable: a missing interpreter, a bad format...
		return nil, &actions.Error{Code: CodeNotFound, Message: fmt.Sprintf("command %q cannot be started: %v", name, unwrapPath(err)), Err: err}
	default:
		return nil, &actions.Error{Code: actions.CodeFailed, Message: fmt.Sprintf("command %q: %v", name, unwrapPath(err)), Err: err}
	}
	return map[string]any{
		"exit_code": cmd.ProcessState.ExitCode(),
		"stdout":    stdout.String(req),
		"stderr":    stderr.String(req),
		"truncated": stdout.truncated || stderr.truncated,
	}, nil
}

// stopped is the error for a program stopped by its context: cancelled,
// the step's deadline, or the input's timeout.
func (in *input) stopped(parent context.Context) *actions.Error {
	name := in.Command[0]
	switch {
	case errors.Is(parent.Err(), context.Canceled):
		return &actions.Error{Code: actions.CodeCancelled, Message: fmt.Sprintf("command %q was cancelled", name), Err: context.Canceled}
	case parent.Err() != nil:
		return &actions.Error{Code: actions.CodeTimeout, Retryable: true, Err: context.DeadlineExceeded,
			Message: fmt.Sprintf("command %q was stopped: the step timed out", name)}
	}
	return &actions.Error{Code: actions.CodeTimeout, Retryable: true, Err: context.DeadlineExceeded,
		Message: fmt.Sprintf("command %q did not finish within %s", name, in.timeout)}
}

func (in *input) exitError(req *actions.Request, ee *exec.ExitError, stderr *capped) *actions.Error {
	var msg string
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		msg = fmt.Sprintf("command %q was killed by signal %d (%v)", in.Command[0], int(ws.Signal()), ws.Signal())
	} else {
		msg = fmt.Sprintf("command %q exited with status %d", in.Command[0], ee.ExitCode())
	}
	if line := stderr.lastLine(req); line != "" {
		msg += ": " + line
	}
	return &actions.Error{Code: CodeExitStatus, Message: msg, Err: ee}
}

// unwrapPath drops the *fs.PathError around a start error: its path is the
// program's, already named in the message.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
