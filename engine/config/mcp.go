package config

import (
	"fmt"
	"strings"

	"github.com/stewardhq/steward/schema"
	"gopkg.in/yaml.v3"
)

// MCP says what AI assistants may run over the Model Context Protocol
// (steward mcp, and /mcp of steward serve): the runbooks exposed as
// tools, by name. None by default: a runbook is exposed only when it is
// listed here.
//
//	mcp:
//	  runbooks: [decline-reply, card-payment-failure]
type MCP struct {
	// Runbooks are the names of the runbooks exposed as tools.
	Runbooks []string `yaml:"runbooks"`
}

var mcpKeys = []string{"runbooks"}

func (l *loader) mcp(n *yaml.Node, path string) {
	for _, p := range l.mapping(n, path, mcpKeys) {
		// The only key: runbooks.
		if p.v.ShortTag() == "!!null" {
			continue
		}
		if p.v.Kind != yaml.SequenceNode {
			l.errorf(p.v, p.path, "write a list of runbook names: runbooks: [decline-reply]", "expected a list, got %s", kindName(p.v))
			continue
		}
		seen := map[string]bool{}
		for i, c := range p.v.Content {
			c = resolve(c)
			ip := fmt.Sprintf("%s[%d]", p.path, i)
			if c.Kind != yaml.ScalarNode || c.ShortTag() != "!!str" {
				l.errorf(c, ip, "", "expected a runbook name, got %s", kindName(c))
				continue
			}
			name := strings.TrimSpace(c.Value)
			switch {
			case !schema.IsName(name):
				l.errorf(c, ip, "a runbook's name, as in its name: field", "invalid runbook name %q", name)
			case seen[name]:
				l.errorf(c, ip, "remove one of them", "runbook %q is listed twice", name)
			default:
				seen[name] = true
				l.cfg.MCP.Runbooks = append(l.cfg.MCP.Runbooks, name)
			}
		}
	}
}
