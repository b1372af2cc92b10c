// Package plugins is the host side of Steward's action plugins: it finds
// steward-plugin-NAME binaries in the plugin folders, checks each against
// its SHA-256 in the lock file before every launch (by reading it, or by
// finding it unchanged since it was read: see hashcache.go), starts it on
// first use through hashicorp/go-plugin (gRPC, protocol plugins/proto/v1),
// reuses one process for the whole run, and turns its actions into
// actions.Action in an actions.Registry. A crash becomes a retryable step
// error and the next call starts a fresh process.
//
// Plugin authors use package plugins/sdk instead.
package plugins
