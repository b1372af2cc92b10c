// Package protocol is what the Steward host and its plugins agree on beyond
// the gRPC service of plugins/proto/v1: the go-plugin handshake, the
// protocol versions, and how a plugin learns that Steward has gone.
package protocol

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/go-plugin"
	pluginv1 "github.com/stewardhq/steward/plugins/proto/v1"
	"google.golang.org/grpc"
)

// Version is the protocol version this code speaks: plugins/proto/v1.
const Version = 1

// PluginKey is the name of the one plugin a Steward plugin binary serves
// in go-plugin's plugin set.
const PluginKey = "actions"

// Handshake is the go-plugin handshake. The cookie is not a secret: it only
// stops a user from running a plugin binary by hand by mistake.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  Version,
	MagicCookieKey:   "STEWARD_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "b1f0c6e4-steward-action-plugin",
}

// LifelineEnv names the file descriptor of the read end of a pipe whose
// write end only the host holds. When the host dies, even by SIGKILL, the
// kernel closes it and the plugin reads end of file: it must exit.
const LifelineEnv = "STEWARD_PLUGIN_LIFELINE_FD"

// ValidPluginName reports whether s can name a plugin: 1 to 63 lower-case
// letters, digits, _ and -, starting with a letter (steward-plugin-NAME).
func ValidPluginName(s string) bool { return validName(s, true) }

// ValidActionName reports whether s can name an action of a plugin: 1 to
// 63 lower-case letters, digits and _, starting with a letter.
func ValidActionName(s string) bool { return validName(s, false) }

// validName checks a name by hand rather than with a regular expression: a
// package-level regexp is compiled at the start of every process that
// links this package, the host and every plugin, whether it checks a name
// or not.
func validName(s string, dash bool) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '-' && dash:
		default:
			return false
		}
	}
	return true
}

// Plugin is the go-plugin glue for the ActionPlugin service. A plugin sets
// Impl; the host leaves it nil and dispenses a client.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl pluginv1.ActionPluginServer
}

// GRPCServer registers the plugin's service.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterActionPluginServer(s, p.Impl)
	return nil
}

// GRPCClient returns the host's client of the service.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pluginv1.NewActionPluginClient(c), nil
}

// Plugins is the versioned plugin set of this protocol version.
func Plugins(server pluginv1.ActionPluginServer) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{Version: {PluginKey: &Plugin{Impl: server}}}
}

// WatchLifeline calls gone once the host has gone: when the lifeline named
// by LifelineEnv reaches end of file, or at once if the variable names no
// usable descriptor. When the variable is unset (a plugin started by a test
// harness rather than by Steward) it never calls gone.
func WatchLifeline(gone func()) {
	v, ok := os.LookupEnv(LifelineEnv)
	if !ok {
		return
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		gone()
		return
	}
	f := os.NewFile(uintptr(fd), "steward-lifeline")
	go func() {
		_, _ = io.Copy(io.Discard, f)
		gone()
	}()
}

// markPrefix starts an output mark. The NUL keeps it apart from anything
// a plugin would print.
const markPrefix = "\x00steward-call-end "

// OutputMark is what a plugin writes on each of its output streams when
// the call with id has done (see LogEntry.marks_output): the host knows
// then that every line the call wrote before it has arrived. The mark
// starts with a newline, so that it ends a line left unfinished, and is a
// line of its own.
func OutputMark(id uint64) string {
	return "\n" + markPrefix + strconv.FormatUint(id, 10) + "\n"
}

// ParseOutputMark reports whether line (without its newline) is the
// output mark of a call, and which.
func ParseOutputMark(line string) (uint64, bool) {
	rest, ok := strings.CutPrefix(line, markPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseUint(rest, 10, 64)
	return id, err == nil
}
