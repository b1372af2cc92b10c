package schedule

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchFolders reloads the schedules when files of the runbook folders
// change, once the folders have been quiet for Debounce. Subfolders are
// watched too (runbooks.Find reads them), but not hidden ones such as
// .git; a folder that does not exist when the scheduler starts is not
// (SIGHUP reloads it). It returns the function that stops it.
func (s *Scheduler) watchFolders() (stop func(), err error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("schedule: watching the runbook folders: %w", err)
	}
	for _, dir := range s.cfg.Folders {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		if err := watchTree(w, dir); err != nil {
			w.Close()
			return nil, fmt.Errorf("schedule: watching %s: %w", dir, err)
		}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var quiet <-chan struct{} // fires Debounce after the last change
		var cancelQuiet func()
		for {
			select {
			case <-done:
				if cancelQuiet != nil {
					cancelQuiet()
				}
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Op == fsnotify.Chmod {
					continue
				}
				if ev.Has(fsnotify.Create) {
					if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
						if err := watchTree(w, ev.Name); err != nil {
							s.log.Warn("schedule: watching a new folder", "folder", ev.Name, "error", err)
						}
					}
				}
				if cancelQuiet != nil {
					cancelQuiet()
				}
				quiet, cancelQuiet = s.after(s.cfg.Debounce)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.log.Warn("schedule: watching the runbook folders", "error", err)
			case <-quiet:
				quiet, cancelQuiet = nil, nil
				if err := s.Reload(context.Background()); err != nil {
					s.log.Error("schedule: reloading", "error", err)
				}
			}
		}
	}()
	return func() { close(done); <-finished; w.Close() }, nil
}

// after returns a channel closed d from now on the clock, and a function
// that stops it.
func (s *Scheduler) after(d time.Duration) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	t := s.cfg.Clock.AfterFunc(d, func() { close(ch) })
	return ch, func() { t.Stop() }
}

// watchTree adds dir and its folders but hidden ones to w.
func watchTree(w *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil // unreadable: skipped, as runbooks.Find skips it
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		return w.Add(p)
	})
}
