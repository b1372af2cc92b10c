// Package execaction is the built-in action exec: it runs one program with
// an argv list (never through a shell), and returns its exit code, stdout
// and stderr.
//
// The program gets a minimal environment, not the engine's: PATH (the
// host's, or /usr/local/bin:/usr/bin:/bin), HOME, LANG, LC_ALL and TMPDIR
// when the host sets them, then the step's env. The program is found in
// that PATH the way exec.LookPath does (relative PATH entries are
// skipped); a name holding a slash is a path, relative to dir.
//
// The program runs in its own process group. When the step is cancelled
// or times out, the whole group is killed with SIGKILL, children and
// grandchildren included, and its output pipes are closed at most two
// seconds later even if a process outside the group still holds them.
// When the program exits on its own, nothing is killed: a background
// process it started may keep running.
//
// Errors are *actions.Error with these codes:
//
//	invalid_input  the with does not fit (empty command, dir missing...)
//	not_found      the program is not found or cannot be executed
//	exit_status    it exited with a non-zero status or died of a signal
//	timeout        the input's timeout or the step's ran out (retryable)
//	cancelled      the run was cancelled
//	failed         anything else
//
// Messages name the program (argv[0]) but never its other arguments, its
// environment or its stdin, which may hold secrets.
package execaction
